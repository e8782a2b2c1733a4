/**
 * The conformance suite over PubNub: the real `pubnub` 12 SDK against the local stand-in server
 * (test/pubnub-server.ts), which refuses messages over 32 KiB like PubNub, so 64 KiB frames travel as
 * base64url chunks and are reassembled.
 */
import PubNub from 'pubnub';
import { describe, expect, it } from 'vitest';
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createPubSubTransport, pubnubClient } from '../src/index.js';
import type { PubSubTransport } from '../src/index.js';
import { startPubNubServer } from './pubnub-server.js';
import type { PubNubServer } from './pubnub-server.js';

let server: PubNubServer | undefined;
const instances = new Map<Transport, PubNub>();
let open = 0;
let counter = 0;

function newPubNub(port: number): PubNub {
  return new PubNub({
    publishKey: 'pub-c-test',
    subscribeKey: 'sub-c-test',
    userId: `sealsig-test-${process.pid}-${++counter}`,
    origin: `127.0.0.1:${port}`,
    ssl: false,
    logLevel: PubNub.LogLevel.None,
    retryConfiguration: PubNub.NoneRetryPolicy(),
  });
}

transportConformance('pubsub: pubnub (SDK 12, local server)', {
  async setup() {
    server = await startPubNubServer();
  },
  async teardown() {
    for (const pubnub of instances.values()) pubnub.destroy();
    await server?.stop();
  },
  async create() {
    const pubnub = newPubNub(server!.port);
    const transport = createPubSubTransport(pubnubClient(pubnub, { closeClient: true }));
    instances.set(transport, pubnub);
    open++;
    const close = transport.close.bind(transport);
    let counted = true;
    (transport as { close: () => Promise<void> }).close = async () => {
      await close();
      if (counted) (counted = false), open--;
    };
    return transport;
  },
  selfEcho: true, // PubNub delivers a publisher's own messages to its subscriptions
  oversize: 'chunked',
  deliveryTimeoutMs: 10_000,
  async disrupt(transport) {
    const pubnub = instances.get(transport)!;
    // The long poll's connection dies; with no retry policy the SDK reports it and the binding reconnects.
    await expect.poll(() => server!.disrupt(pubnub.userId), { timeout: 5000 }).toBeGreaterThan(0);
  },
  openResources: () => open,
});

describe('pubsub: pubnub message limit', () => {
  it('chunks a 64 KiB frame into messages the 32 KiB limit accepts', async () => {
    const local = await startPubNubServer();
    const a = createPubSubTransport(pubnubClient(newPubNub(local.port), { closeClient: true })) as PubSubTransport;
    const b = createPubSubTransport(pubnubClient(newPubNub(local.port), { closeClient: true })) as PubSubTransport;
    try {
      const received: Uint8Array[] = [];
      await b.subscribe('chunked-topic', (f) => received.push(f));
      const frame = crypto.getRandomValues(new Uint8Array(64 * 1024));
      await a.publish('chunked-topic', frame);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
      expect(received[0]).toEqual(frame);
      expect(a.stats.messagesOut).toBe(3); // 64 KiB in base64url chunks of under 32 KiB
      expect(local.rejectedTooLarge).toBe(0);
      // Without chunking the service refuses the message: a binding that claims a larger limit fails.
      const c = createPubSubTransport(pubnubClient(newPubNub(local.port), { closeClient: true, maxMessageBytes: 200_000 }));
      await expect(c.publish('chunked-topic', frame)).rejects.toMatchObject({ code: 'E_TRANSPORT' });
      expect(local.rejectedTooLarge).toBe(1);
      await c.close();
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
      await local.stop();
    }
  });
});
