/**
 * A family admission token ({"p": routeTag}, PROTOCOL-RELAY.md §2) through a real relay: one connection
 * holds the session topic and its inbox topic (route tag + "_" + 22 characters, as core v2 shapes it),
 * frames flow on both, another route tag is refused with ERROR 5, and after its socket drops the transport
 * reconnects with the same token and restores both subscriptions.
 */
import { SealsigError } from '@sealsig/core';
import { createAdmissionToken } from '@sealsig/relay';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type TransportEvent, type WebSocketTransport } from '../src/index.js';
import type { WebSocketConstructor } from '../src/socket.js';
import { startRelay, terminate, trackingWebSocket, waitUntil, type RunningRelay } from './helpers.js';

const SECRET = 'a relay admission secret of 32 b';
const ROUTE_TAG = 'Zm9vYmFyYmF6cXV4cXV1eA';
const OTHER_TAG = 'b3RoZXJyb3V0ZXRhZ3h4eA';
const inbox = (tag: string, member: string) => `${tag}_${member.repeat(22).slice(0, 22)}`;
const INBOX_A = inbox(ROUTE_TAG, 'a');
const INBOX_B = inbox(ROUTE_TAG, 'b');

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function relay(): Promise<RunningRelay> {
  const r = await startRelay({ admission: { secret: SECRET }, retention: false });
  cleanups.push(() => r.relay.close());
  return r;
}

function client(url: string, token: string, WebSocket?: WebSocketConstructor): { t: WebSocketTransport; events: TransportEvent[] } {
  const events: TransportEvent[] = [];
  const t = createWebSocketTransport({ urls: [url], token, minReconnectDelayMs: 20, maxReconnectDelayMs: 200, onError: (e) => events.push(e), ...(WebSocket ? { WebSocket } : {}) });
  cleanups.push(() => t.close());
  return { t, events };
}

/** Subscribes and records what arrives, per topic. */
async function listen(t: WebSocketTransport, topics: string[]): Promise<Map<string, string[]>> {
  const got = new Map<string, string[]>(topics.map((topic) => [topic, []]));
  for (const topic of topics) await t.subscribe(topic, (f) => got.get(topic)!.push(dec(f)));
  return got;
}

describe('a family admission token', () => {
  it('lets one connection subscribe to the session topic and its inbox, and publish on both families', async () => {
    expect(INBOX_A).toHaveLength(45);
    const r = await relay();
    const token = await createAdmissionToken({ secret: SECRET, prefix: ROUTE_TAG, ttlSeconds: 60 });
    const a = client(r.url, token);
    const b = client(r.url, token);
    const atA = await listen(a.t, [ROUTE_TAG, INBOX_A]);
    const atB = await listen(b.t, [ROUTE_TAG, INBOX_B]);

    await b.t.publish(ROUTE_TAG, enc('hello from b')); // session topic: every member
    await b.t.publish(INBOX_A, enc('b to a')); // a's inbox: a alone
    await a.t.publish(INBOX_B, enc('a to b'));
    await waitUntil(() => atA.get(ROUTE_TAG)!.length === 1 && atA.get(INBOX_A)!.length === 1 && atB.get(INBOX_B)!.length === 1, 5000, 'deliveries');
    expect(Object.fromEntries(atA)).toEqual({ [ROUTE_TAG]: ['hello from b'], [INBOX_A]: ['b to a'] });
    expect(Object.fromEntries(atB)).toEqual({ [ROUTE_TAG]: [], [INBOX_B]: ['a to b'] });
    expect([...a.events, ...b.events]).toEqual([]);

    // Another route tag (or its inbox) is outside the family: ERROR 5, a typed rejection, the connection stays.
    for (const topic of [OTHER_TAG, inbox(OTHER_TAG, 'a')]) {
      const refused = await a.t.subscribe(topic, () => undefined).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(SealsigError);
      expect((refused as SealsigError).code).toBe('E_TRANSPORT');
    }
    expect(a.events).toMatchObject([
      { type: 'relay-error', relayCode: 5, topic: OTHER_TAG },
      { type: 'relay-error', relayCode: 5, topic: inbox(OTHER_TAG, 'a') },
    ]);
    expect(a.t.state).toBe('open');
    await b.t.publish(INBOX_A, enc('still there'));
    await waitUntil(() => atA.get(INBOX_A)!.length === 2, 5000, 'a delivery after the refusals');
  });

  it('restores both subscriptions with the same token after the socket drops', async () => {
    const r = await relay();
    const token = await createAdmissionToken({ secret: SECRET, prefix: ROUTE_TAG, ttlSeconds: 60 });
    const { WebSocket, sockets } = await trackingWebSocket();
    const a = client(r.url, token, WebSocket);
    const b = client(r.url, token);
    const atA = await listen(a.t, [ROUTE_TAG, INBOX_A]);
    const states: string[] = [];
    a.t.onStateChange((s) => states.push(s));
    for (const socket of sockets) if (socket.readyState === 1) terminate(socket);
    await waitUntil(() => states.includes('reconnecting') && a.t.state === 'open', 10_000, 'a reconnected');
    await waitUntil(() => b.t.state === 'open', 5000, 'b open');
    // A further subscription resolves once its topic is live again on the new connection.
    for (const topic of [ROUTE_TAG, INBOX_A]) await (await a.t.subscribe(topic, () => undefined))();
    await b.t.publish(ROUTE_TAG, enc('tag'));
    await b.t.publish(INBOX_A, enc('inbox'));
    await waitUntil(() => atA.get(ROUTE_TAG)!.length === 1 && atA.get(INBOX_A)!.length === 1, 5000, 'both topics deliver after the reconnect');
    expect(Object.fromEntries(atA)).toEqual({ [ROUTE_TAG]: ['tag'], [INBOX_A]: ['inbox'] });
    expect(a.events.filter((e) => e.type === 'relay-error' || e.type === 'token-rejected')).toEqual([]);
  });
});
