/**
 * The limits the relay announces (LIMITS, PROTOCOL-RELAY.md §3.5) pace the transport: a relay configured below
 * the default PUBLISH limit is never sent more than it takes, without a publishLimit option; the user's
 * publishLimit still caps a higher announcement; a malformed LIMITS is dropped and reported, and the
 * transport carries on.
 */
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type TransportEvent, type WebSocketTransport } from '../src/index.js';
import { Publisher } from '../src/publisher.js';
import { SendQueue } from '../src/send-queue.js';
import { startRelay, waitUntil } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function open(url: string, onError?: (e: TransportEvent) => void): WebSocketTransport {
  const t = createWebSocketTransport({ urls: [url], ...(onError ? { onError } : {}) });
  cleanups.push(() => t.close());
  return t;
}

/** A relay stand-in that sends `first` on each connection, then ACKs every PUBLISH at once (§3.1, §3.2). */
async function fakeRelay(first: Uint8Array): Promise<{ url: string; published: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'sealsig-relay.2' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let published = 0;
  wss.on('connection', (ws: ServerSocket) => {
    ws.send(first);
    let n = 0;
    ws.on('message', (data: Buffer) => {
      if (data[0] !== 0x03) return;
      published++;
      const ack = Buffer.alloc(5);
      ack[0] = 0x13;
      ack.writeUInt32BE(++n, 1);
      ws.send(ack);
    });
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as { port: number };
  return { url: `ws://127.0.0.1:${port}/`, published: () => published };
}

describe('LIMITS (§3.5)', () => {
  it('a relay below the default limit (50/s, burst 20) gets a 200-frame burst whole, with no rate_limited drop and no publishLimit', async () => {
    const running = await startRelay({ rateLimit: { frames: { perSecond: 50, burst: 20 } } });
    cleanups.push(() => running.relay.close());
    const sub = open(running.url);
    const got = new Set<number>();
    await sub.subscribe('limits', (f) => got.add(f[0]! | (f[1]! << 8)));
    const pub = open(running.url); // no subscription: it may publish the moment its socket opens
    for (let i = 0; i < 200; i++) await pub.publish('limits', new Uint8Array([i & 0xff, i >> 8]));
    await pub.pacing.drained();
    await waitUntil(() => got.size === 200, 20_000, `the whole burst (got ${got.size})`);
    await waitUntil(() => pub.queuedFrames === 0, 5_000, 'every frame acknowledged');
    expect(running.relay.metrics().drops).toEqual({});
  }, 30_000);

  it('a malformed LIMITS (20 bytes) is dropped and reported as malformed-message (E_FRAME_MALFORMED); publishing goes on', async () => {
    const fake = await fakeRelay(new Uint8Array(20).fill(1, 1).fill(0x15, 0, 1));
    const events: TransportEvent[] = [];
    const t = open(fake.url, (e) => events.push(e));
    for (let i = 0; i < 5; i++) await t.publish('limits', new Uint8Array([i]));
    await t.pacing.drained();
    await waitUntil(() => t.queuedFrames === 0, 5_000, 'every frame acknowledged');
    expect(fake.published()).toBe(5);
    expect(events.map((e) => [e.type, e.error.code])).toEqual([['malformed-message', 'E_FRAME_MALFORMED']]);
    expect(events[0]!.error.message).toMatch(/LIMITS of a bad length/);
    expect(t.state).toBe('open');
  });
});

describe('Publisher and LIMITS', () => {
  function publisher(cap?: { perSecond: number; burst: number }) {
    const sent: Uint8Array[] = [];
    const p = new Publisher(new SendQueue(1_000, 1 << 20), cap, { send: (m) => (sent.push(m), true), socket: {}, report: () => {} }, () => 0);
    p.opened();
    p.start();
    cleanups.push(async () => p.close());
    return { p, sent };
  }

  // On a clock that never moves, a burst of b sends b - 1 frames: the budget keeps a sliver of slack (EPSILON).
  it('sends one frame until the relay speaks, then the announced burst, on a clock that never moves', () => {
    const { p, sent } = publisher();
    for (let i = 0; i < 300; i++) p.publish('t', new Uint8Array([i]));
    expect(sent).toHaveLength(1); // the default burst (200) would go now if it were not held
    p.limits({ perSecond: 50, burst: 20 });
    expect(sent).toHaveLength(19); // the frame in flight counts against the announced burst
    p.acknowledged(20);
    expect(sent).toHaveLength(19); // no time passed: no refill
  });

  it('adopts an announcement above the default; an explicit publishLimit caps it field by field', () => {
    const free = publisher();
    free.p.heard();
    for (let i = 0; i < 600; i++) free.p.publish('t', new Uint8Array([i]));
    expect(free.sent).toHaveLength(199); // the default, before LIMITS
    free.p.limits({ perSecond: 1_000, burst: 500 });
    expect(free.sent).toHaveLength(499);
    const capped = publisher({ perSecond: 10, burst: 30 });
    for (let i = 0; i < 600; i++) capped.p.publish('t', new Uint8Array([i]));
    capped.p.limits({ perSecond: 1_000, burst: 500 });
    expect(capped.sent).toHaveLength(29);
  });
});
