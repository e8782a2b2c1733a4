/**
 * Every limit gives its documented close code or drop, while a well-behaved client on the same relay keeps
 * being served (PROTOCOL-RELAY.md §4, §5); and every connection is told its limits first (LIMITS, §3.5), whose
 * codec round-trips and whose decoder survives any bytes.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Relay, RelayOptions } from '../src/index.js';
import { ErrorCode, LIMITS_BYTES, Op, decodeOutbound, encodeLimits } from '../src/protocol.js';
import { connect, roundTrip, sleep, startRelay, text, waitFor, type TestClient } from './helpers.js';

const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';

let relay: Relay | undefined;
let clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  await relay?.close();
  relay = undefined;
});

/**
 * A normal `ws` client, in a worker thread so that it runs beside the relay, that floods PUBLISHes for `ms`
 * without ever yielding to its event loop (so it reads nothing meanwhile: the relay's close frame waits in
 * its kernel buffer), sending whenever its socket takes more; with `idleMs`, it then idles that long and floods
 * `ms` again, still without reading; then it reports the close code it saw.
 */
const FLOODER = `
const { workerData, parentPort } = require('node:worker_threads');
const WebSocket = require(workerData.ws);
const ws = new WebSocket(workerData.url, ['sealsig-relay.2']);
ws.on('error', () => {});
ws.on('close', (code) => parentPort.postMessage(code));
ws.on('open', () => {
  const topic = Buffer.from(workerData.topic);
  const message = Buffer.concat([Buffer.from([0x03, topic.length]), topic, Buffer.alloc(100)]);
  const flood = (ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) if (ws.bufferedAmount < 1 << 20) ws.send(message);
  };
  flood(workerData.ms);
  if (workerData.idleMs === 0) return;
  // Then idle, neither sending nor reading, for idleMs, and flooding again before it reads (a write that
  // meets a reset fails at once, and ws destroys the socket, unread close frame and all: 1006).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.idleMs);
  flood(workerData.ms);
});
`;
function blockingFlood(url: string, ms: number, idleMs = 0): Promise<number> {
  const ws = createRequire(import.meta.url).resolve('ws');
  const worker = new Worker(FLOODER, { eval: true, workerData: { ws, url, ms, idleMs, topic: TOPIC } });
  return new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (code: number) => resolve(code));
  }).finally(() => worker.terminate());
}

/** A relay with a well-behaved pair (good1 → good2 on TOPIC) already subscribed. */
async function setup(options: RelayOptions = {}) {
  const r = await startRelay({ retention: false, ...options });
  relay = r.relay;
  const open = async (url = r.url, opts = {}) => {
    const c = await connect(url, opts);
    clients.push(c);
    return c;
  };
  const good1 = await open();
  const good2 = await open();
  await good1.subscribe(TOPIC);
  await good2.subscribe(TOPIC);
  const stillServed = () => Promise.all([roundTrip(good1, good2, TOPIC), roundTrip(good2, good1, TOPIC)]);
  return { ...r, open, stillServed };
}

describe('limits', () => {
  it('closes 1009 for an oversized message, NACK 4 for a frame just over maxFrameBytes', async () => {
    const { open, stillServed } = await setup({ maxFrameBytes: 1_000 });
    const near = await open();
    near.publish(TOPIC, new Uint8Array(1_001)); // message 1 025 bytes: within maxPayload, frame too large
    await waitFor(() => near.nacks().length === 1);
    expect(near.nacks()).toEqual([{ seq: 1, code: ErrorCode.frameTooLarge }]);
    await waitFor(() => near.acked() === 1); // settled: refused, and said so
    const big = await open();
    big.publish(TOPIC, new Uint8Array(2_000));
    expect((await big.closed).code).toBe(1009);
    await stillServed();
    expect(relay!.metrics().closes['1009']).toBe(1);
    expect(relay!.metrics().drops).toMatchObject({ frame_too_large: 2 });
  });

  it('drops a flood with NACK 2, then closes it 4008', async () => {
    const { open, stillServed } = await setup({ rateLimit: { frames: { perSecond: 10, burst: 10 }, floodDrops: 50 } });
    const flooder = await open();
    for (let i = 0; i < 200; i++) flooder.publish(TOPIC, text(`flood ${i}`));
    expect((await flooder.closed).code).toBe(4008);
    expect(flooder.nacks().some((e) => e.code === ErrorCode.rateLimited)).toBe(true);
    await stillServed();
    // good2 got at most the burst of the flood.
    expect(clients[1]!.delivered().filter((f) => Buffer.from(f).toString().startsWith('flood')).length).toBeLessThanOrEqual(10);
    expect(relay!.metrics().closes['4008']).toBe(1);
  });

  it('closes a flooder that keeps sending without reading with 4008, not 1006 (no RST before the close frame)', async () => {
    const { url, stillServed } = await setup({ rateLimit: { frames: { perSecond: 10, burst: 10 }, floodDrops: 50 } });
    // The flood outlasts the relay's 1 s close grace: the relay must not reset the connection under it.
    expect(await blockingFlood(url, 2_500)).toBe(4008);
    expect(relay!.metrics().closes['4008']).toBe(1);
    await stillServed();
  });

  it('closes 20 of 20 flooders with 4008 even when each idles 3 s after its flood, then floods again before reading', async () => {
    // The relay half-closes after the close frame and keeps dropping input until the client closes: it never
    // resets a connection whose client has not read the close frame yet (a reset discards unread data).
    const { url, stillServed } = await setup({ rateLimit: { frames: { perSecond: 10, burst: 10 }, floodDrops: 50 } });
    const codes = await Promise.all(Array.from({ length: 20 }, () => blockingFlood(url, 300, 3_000)));
    expect(codes).toEqual(Array.from({ length: 20 }, () => 4008));
    expect(relay!.metrics().closes['4008']).toBe(20);
    await stillServed();
  });

  it('refuses a subscription beyond maxTopicsPerConnection with ERROR 3', async () => {
    const { open, stillServed } = await setup({ maxTopicsPerConnection: 3 });
    const greedy = await open();
    for (const t of ['t1', 't2', 't3']) await greedy.subscribe(t);
    await greedy.subscribe('t4');
    expect(greedy.errors()).toEqual([{ code: ErrorCode.tooManyTopics, topic: 't4', reason: 'too many topics' }]);
    greedy.unsubscribe('t1');
    await greedy.subscribe('t4');
    expect(greedy.received.at(-1)).toMatchObject({ kind: 'subscribed', topic: 't4' });
    await stillServed();
  });

  it('holds 128 topics per connection by default (several rooms of a page), ERROR 3 for the 129th', async () => {
    const { open, stillServed } = await setup({ rateLimit: { subscriptions: { perSecond: 1_000, burst: 1_000 } } });
    const page = await open();
    // 32 sessions, each a route tag and three 45-character inboxes.
    const tags = Array.from({ length: 32 }, (_, i) => `tag${String(i).padStart(19, '0')}`);
    const topics = tags.flatMap((tag) => [tag, ...['a', 'b', 'c'].map((m) => `${tag}_${m.repeat(22)}`)]);
    expect(topics).toHaveLength(128);
    for (const t of topics) await page.subscribe(t);
    expect(page.errors()).toEqual([]);
    await page.subscribe('one-too-many');
    expect(page.errors()).toEqual([{ code: ErrorCode.tooManyTopics, topic: 'one-too-many', reason: 'too many topics' }]);
    await stillServed();
  });

  it('closes a slow consumer 4010 while another flood keeps reaching the healthy subscriber', async () => {
    // The healthy subscribers run in this process too: bursts of 10 frames (320 KiB) keep them well within the
    // default 1 MiB send buffer while the paused one fills its kernel buffers, then the relay's.
    const { open, stillServed } = await setup({
      rateLimit: { frames: { perSecond: 100_000, burst: 100_000 } },
    });
    const slow = await open();
    await slow.subscribe(TOPIC);
    // Stop reading: the kernel buffers fill, then the relay's send buffer grows past the limit.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const flooder = await open();
    const frame = new Uint8Array(32 * 1024);
    for (let i = 0; i < 4_000 && relay!.metrics().closes['4010'] === undefined; i++) {
      flooder.publish(TOPIC, frame);
      if (i % 10 === 9) await sleep(5);
    }
    await waitFor(() => relay!.metrics().closes['4010'] === 1, 10_000, 'slow consumer closed');
    expect(relay!.metrics().drops.slow_consumer).toBeGreaterThanOrEqual(1);
    await stillServed();
    expect(clients[1]!.delivered().length).toBeGreaterThan(100);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code } = await slow.closed;
    expect([4010, 1006]).toContain(code); // 1006 when the close frame did not fit before the terminate
  });

  it('closes 1013 beyond maxConnections and maxConnectionsPerIp', async () => {
    const { open, stillServed } = await setup({ maxConnections: 3 });
    await open();
    const refused = await open();
    expect((await refused.closed).code).toBe(1013);
    await stillServed();
    await relay!.close();
    const second = await setup({ maxConnectionsPerIp: 2 });
    const refused2 = await second.open();
    expect(await refused2.closed).toEqual({ code: 1013, reason: 'too many connections from this address' });
    await second.stillServed();
  });

  it('closes 1008 for an Origin not on the allowlist', async () => {
    const { open, url, stillServed } = await setup({ allowedOrigins: ['https://app.example'] });
    const bad = await open(url, { origin: 'https://evil.example' });
    expect((await bad.closed).code).toBe(1008);
    const ok = await open(url, { origin: 'https://app.example' });
    await ok.subscribe(TOPIC);
    expect(ok.ws.readyState).toBe(WebSocket.OPEN);
    await stillServed();
  });

  it('closes 1003 for a text message', async () => {
    const { open, stillServed } = await setup();
    const c = await open();
    c.sendRaw('hello');
    expect((await c.closed).code).toBe(1003);
    await stillServed();
  });

  it('answers garbage binary with ERROR 6 or 1, a bad PUBLISH with NACK 6 or 1, and keeps the connection', async () => {
    const { open, stillServed } = await setup();
    const c = await open();
    c.sendRaw(new Uint8Array([]));
    c.sendRaw(new Uint8Array([0x99, 1, 2]));
    c.sendRaw(new Uint8Array([0x03, 40, 65])); // PUBLISH 1, truncated
    c.sendRaw(new Uint8Array([0x01, 1, 0x20])); // SUBSCRIBE to a bad topic
    c.sendRaw(new Uint8Array([0x01, 5, 0x41])); // SUBSCRIBE, truncated
    c.sendRaw(new Uint8Array([0x03, 1, 0x2f, 1])); // PUBLISH 2, bad topic
    await waitFor(() => c.errors().length === 4 && c.nacks().length === 2);
    expect(c.errors().map((e) => e.code)).toEqual([6, 6, 1, 6]);
    expect(c.nacks()).toEqual([{ seq: 1, code: 6 }, { seq: 2, code: 1 }]);
    await c.subscribe(TOPIC);
    await stillServed();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('terminates a dead socket that stops answering pings', async () => {
    const { open, url, stillServed } = await setup({ heartbeatMs: 100 });
    const dead = await open(url, { autoPong: false });
    await dead.closed;
    expect(relay!.metrics().closes['1001']).toBe(1);
    await waitFor(() => relay!.metrics().connections === 2);
    await stillServed();
  });
});

describe('LIMITS', () => {
  it('announces the configured limits as the first message of a connection', async () => {
    const r = await startRelay({
      maxFrameBytes: 4_096,
      rateLimit: { frames: { perSecond: 20, burst: 5 }, subscriptions: { perSecond: 2.5, burst: 7 } },
    });
    relay = r.relay;
    const c = await connect(r.url);
    clients.push(c);
    await waitFor(() => c.limits.length === 1, 5_000, 'LIMITS');
    expect(c.limits).toEqual([{ publish: { perSecond: 20, burst: 5 }, subscribe: { perSecond: 2.5, burst: 7 }, maxFrameBytes: 4_096 }]);
    expect(c.received).toEqual([]); // nothing else unasked
  });

  it('announces the defaults of PROTOCOL-RELAY.md §4', async () => {
    const r = await startRelay();
    relay = r.relay;
    const c = await connect(r.url);
    clients.push(c);
    await waitFor(() => c.limits.length === 1, 5_000, 'LIMITS');
    expect(c.limits[0]).toEqual({ publish: { perSecond: 100, burst: 200 }, subscribe: { perSecond: 20, burst: 128 }, maxFrameBytes: 65_536 });
    expect(encodeLimits(c.limits[0]!).toString('hex')).toBe('15000186a0000000c800004e20000000800001' + '0000'); // the spec's example
  });

  it('round-trips whole and thousandth rates; rounds down, never to 0', () => {
    const milli = fc.integer({ min: 1, max: 2 ** 32 - 1 });
    const whole = fc.integer({ min: 1, max: 2 ** 32 - 1 });
    const rate = fc.record({ perSecond: milli.map((m) => m / 1000), burst: whole });
    fc.assert(
      fc.property(rate, rate, whole, (publish, subscribe, maxFrameBytes) => {
        const m = encodeLimits({ publish, subscribe, maxFrameBytes });
        expect(m.length).toBe(LIMITS_BYTES);
        expect(decodeOutbound(m)).toEqual({ kind: 'limits', limits: { publish, subscribe, maxFrameBytes } });
      }),
    );
    const odd = decodeOutbound(encodeLimits({ publish: { perSecond: 0.0001, burst: 2.9 }, subscribe: { perSecond: 1e12, burst: 1 }, maxFrameBytes: 1 }));
    expect(odd).toEqual({ kind: 'limits', limits: { publish: { perSecond: 0.001, burst: 2 }, subscribe: { perSecond: (2 ** 32 - 1) / 1000, burst: 1 }, maxFrameBytes: 1 } });
  });

  it('decodes any bytes after the opcode without throwing: LIMITS only at 21 bytes with no zero field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (tail) => {
        const m = new Uint8Array([Op.limits, ...tail]);
        const d = decodeOutbound(m);
        const zero = [1, 5, 9, 13, 17].some((at) => m.length === LIMITS_BYTES && m[at]! + m[at + 1]! + m[at + 2]! + m[at + 3]! === 0);
        expect(d.kind).toBe(m.length === LIMITS_BYTES && !zero ? 'limits' : 'invalid');
      }),
    );
  });
});
