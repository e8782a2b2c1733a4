import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../src/index.js';
import { connect, roundTrip, sleep, startRelay, text, waitFor, type TestClient } from './helpers.js';

const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';

let relay: Relay | undefined;
let clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await relay?.close();
  relay = undefined;
});

async function setup(options = {}) {
  const r = await startRelay(options);
  relay = r.relay;
  const open = async () => {
    const c = await connect(r.url);
    clients.push(c);
    return c;
  };
  return { ...r, open };
}

describe('routing', () => {
  it('delivers frames to the other subscribers, without self-echo, and acknowledges SUBSCRIBE', async () => {
    const { open } = await setup({ retention: false });
    const a = await open();
    const b = await open();
    await a.subscribe(TOPIC);
    await b.subscribe(TOPIC);
    expect(a.received[0]).toMatchObject({ kind: 'subscribed', topic: TOPIC, recovered: false });
    a.publish(TOPIC, text('from a'));
    b.publish(TOPIC, text('from b'));
    await waitFor(() => a.delivered().length === 1 && b.delivered().length === 1);
    expect(Buffer.from(a.delivered()[0]!).toString()).toBe('from b');
    expect(Buffer.from(b.delivered()[0]!).toString()).toBe('from a');
    await roundTrip(a, b, TOPIC);
    await roundTrip(b, a, TOPIC);
    expect(a.delivered().map((f) => Buffer.from(f).toString()).filter((s) => s.startsWith('from'))).toEqual(['from b']);
  });

  it('isolates topics', async () => {
    const { open } = await setup({ retention: false });
    const a = await open();
    const b = await open();
    const c = await open();
    await a.subscribe(TOPIC);
    await b.subscribe(TOPIC);
    await c.subscribe(OTHER);
    a.publish(TOPIC, text('secret'));
    await roundTrip(a, b, TOPIC);
    await sleep(30);
    expect(c.delivered()).toHaveLength(0);
  });

  it('stops delivering after UNSUBSCRIBE, and a publisher need not be subscribed', async () => {
    const { open } = await setup({ retention: false });
    const a = await open();
    const b = await open();
    const probe = await open();
    await b.subscribe(TOPIC);
    await probe.subscribe(TOPIC);
    a.publish(TOPIC, text('one'));
    await waitFor(() => b.delivered().length === 1);
    b.unsubscribe(TOPIC);
    await sleep(50);
    a.publish(TOPIC, text('two'));
    await roundTrip(a, probe, TOPIC);
    await sleep(30);
    expect(b.delivered()).toHaveLength(1);
    expect(relay!.metrics().topics).toBe(1);
  });

  it('replays retained frames to a late subscriber, after SUBSCRIBED, oldest first', async () => {
    const { open } = await setup();
    const a = await open();
    a.publish(TOPIC, text('offer'));
    a.publish(TOPIC, text('candidate'));
    await sleep(50);
    const late = await open();
    await late.subscribe(TOPIC);
    await waitFor(() => late.delivered().length === 2);
    expect(late.received[0]).toMatchObject({ kind: 'subscribed', topic: TOPIC });
    expect(late.delivered().map((f) => Buffer.from(f).toString())).toEqual(['offer', 'candidate']);
    // The publisher itself is not sent its own retained frames.
    await a.subscribe(TOPIC);
    await sleep(50);
    expect(a.delivered()).toHaveLength(0);
  });

  it('bounds retention by frame count, bytes and age', async () => {
    const { open } = await setup({ retention: { maxFrames: 3, maxBytes: 1_000, maxAgeMs: 300 } });
    const a = await open();
    for (let i = 0; i < 10; i++) a.publish(TOPIC, text(`f${i}`));
    // bytes: 400-byte frames (+26 bytes of header each): only two fit in 1 000 bytes.
    a.publish(OTHER, new Uint8Array(400).fill(1));
    a.publish(OTHER, new Uint8Array(400).fill(2));
    a.publish(OTHER, new Uint8Array(400).fill(3));
    await sleep(50);
    const late = await open();
    await late.subscribe(TOPIC);
    await late.subscribe(OTHER);
    await waitFor(() => late.delivered().length === 5);
    expect(late.delivered(TOPIC).map((f) => Buffer.from(f).toString())).toEqual(['f7', 'f8', 'f9']);
    expect(late.delivered(OTHER).map((f) => f[0])).toEqual([2, 3]);
    await sleep(400);
    const later = await open();
    await later.subscribe(TOPIC);
    await sleep(50);
    expect(later.delivered()).toHaveLength(0);
  });

  it('closes 4002 for a client that does not offer sealsig-relay.2 (no subprotocol, or version 1)', async () => {
    const r = await setup({ retention: false });
    const { connect: c2 } = await import('./helpers.js');
    for (const offered of [[], ['sealsig-relay.1']]) {
      const old = await c2(r.url, {}, offered);
      clients.push(old);
      expect((await old.closed).code).toBe(4002);
    }
    const b = await r.open();
    expect(b.ws.protocol).toBe('sealsig-relay.2');
  });
});
