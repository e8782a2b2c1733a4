/**
 * Reconnect, queue and error semantics against the real relay (@sealsig/relay) over real sockets:
 * nothing published while the relay restarts is lost (within the queue bounds), 1012 moves on to the next
 * URL at once, admission tokens (4001), token scope and topic limits (ERROR 5/3), origin refusal (1008),
 * and a hostile relay's malformed messages are dropped and reported, never thrown.
 */
import { isSealsigError, SealsigError } from '@sealsig/core';
import { createAdmissionToken } from '@sealsig/relay';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type TransportEvent, type WebSocketTransport, type WebSocketTransportOptions } from '../src/index.js';
import { resolveWebSocket, type WebSocketConstructor } from '../src/socket.js';
import { freePort, sleep, startRelay, trackingWebSocket, waitUntil, withoutLimits, type RunningRelay } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const TOPIC = 'reconnect-test-topic_01';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function client(options: Partial<WebSocketTransportOptions> & { urls: string[] }): { t: WebSocketTransport; events: TransportEvent[] } {
  const events: TransportEvent[] = [];
  const t = createWebSocketTransport({ minReconnectDelayMs: 20, maxReconnectDelayMs: 200, onError: (e) => events.push(e), ...options });
  cleanups.push(() => t.close());
  return { t, events };
}

async function relay(options: Parameters<typeof startRelay>[0] = {}, port = 0): Promise<RunningRelay> {
  const r = await startRelay(options, port);
  cleanups.push(() => r.relay.close());
  return r;
}

async function rejection(p: Promise<unknown>): Promise<SealsigError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SealsigError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('reconnect without loss', () => {
  it('queues frames while the relay restarts on the same port, then delivers them in order', async () => {
    const first = await relay();
    const sub = client({ urls: [first.url] }).t;
    const pub = client({ urls: [first.url] }).t;
    const got: string[] = [];
    await sub.subscribe(TOPIC, (f) => got.push(dec(f)));
    await waitUntil(() => pub.state === 'open', 5000, 'publisher open');
    await pub.publish(TOPIC, enc('before'));
    await waitUntil(() => got.length === 1, 5000, 'the first frame');
    const states: string[] = [];
    pub.onStateChange((s) => states.push(s));

    await first.relay.close(); // clients are told 1012, then the port is free
    await waitUntil(() => pub.state === 'reconnecting' && sub.state === 'reconnecting', 5000, 'both reconnecting');
    const queued = Array.from({ length: 20 }, (_, i) => `queued-${i}`);
    for (const text of queued) await pub.publish(TOPIC, enc(text)); // taken: resolves while the relay is down
    expect(pub.queuedFrames).toBe(20);

    await relay({}, first.port);
    await waitUntil(() => got.length === 21, 10_000, `all queued frames (got ${got.length})`);
    expect(got).toEqual(['before', ...queued]);
    // The relay acknowledges up to ACK_DELAY_MS after storing: the subscriber may have the frames first.
    await waitUntil(() => pub.queuedFrames === 0, 5000, 'the queued frames acknowledged');
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('open');
    // Subscriptions made before the restart work both ways after it.
    const back: string[] = [];
    await pub.subscribe(TOPIC, (f) => back.push(dec(f)));
    await sub.publish(TOPIC, enc('after'));
    await waitUntil(() => back.includes('after'), 5000, 'a frame after the restart');
  });

  it('a restarted relay (memory engine: a new epoch) raises a gap for each resumed subscription; a reconnect to the same relay does not', async () => {
    const first = await relay();
    const { WebSocket, sockets } = await trackingWebSocket();
    const { t: sub, events } = client({ urls: [first.url], WebSocket });
    const gaps: string[] = [];
    sub.onGap((topic) => gaps.push(topic));
    const pub = client({ urls: [first.url] }).t;
    const got: string[] = [];
    await sub.subscribe(TOPIC, (f) => got.push(dec(f)));
    await pub.publish(TOPIC, enc('one'));
    await waitUntil(() => got.length === 1, 5000, 'the first frame');
    // A dropped connection (not a restart): resumed from its position, RECOVERED, no gap, nothing twice.
    for (const socket of sockets) socket.close();
    await waitUntil(() => sub.state === 'reconnecting', 5000, 'reconnecting');
    await pub.publish(TOPIC, enc('two'));
    await waitUntil(() => sub.state === 'open' && got.length === 2, 10_000, 'resumed');
    expect(got).toEqual(['one', 'two']);
    expect(gaps).toEqual([]);
    // A restart: the relay's streams are gone, so the transport says frames may have been missed.
    await first.relay.close();
    await relay({}, first.port);
    await waitUntil(() => gaps.length === 1, 10_000, 'a gap');
    expect(gaps).toEqual([TOPIC]);
    expect(events.filter((e) => e.type === 'gap')).toMatchObject([{ topic: TOPIC, error: { code: 'E_TRANSPORT' } }]);
  });

  it('frames the relay refuses for its rate limit (NACK 2) are sent again until stored: a burst over the limit arrives whole', async () => {
    // A relay older than LIMITS (§3.5), started below the default limit, and no publishLimit: the transport
    // assumes 100/s, burst 200, and the relay refuses what is over its own.
    const r = await relay({ rateLimit: { frames: { perSecond: 50, burst: 10 }, floodDrops: 1_000 } });
    const sub = client({ urls: [r.url] }).t;
    const pub = client({ urls: [r.url], WebSocket: await withoutLimits() }).t;
    const got: string[] = [];
    await sub.subscribe(TOPIC, (f) => got.push(dec(f)));
    await waitUntil(() => pub.state === 'open', 5000, 'publisher open');
    const burst = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    for (const text of burst) await pub.publish(TOPIC, enc(text));
    await waitUntil(() => new Set(got).size === 60, 20_000, `the whole burst (got ${new Set(got).size})`);
    expect([...new Set(got)].sort()).toEqual([...burst].sort());
    expect(r.relay.metrics().drops.rate_limited).toBeGreaterThan(0); // the relay did refuse some
    await waitUntil(() => pub.queuedFrames === 0, 5000, 'everything acknowledged');
  });

  it('rejects with E_QUEUE_FULL beyond the frame and byte bounds; what was queued is delivered later', async () => {
    const port = await freePort(); // nothing listens yet
    const url = `ws://127.0.0.1:${port}/`;
    const byCount = client({ urls: [url], maxQueuedFrames: 3 }).t;
    const byBytes = client({ urls: [url], maxQueuedBytes: 100 }).t;
    expect(byCount.state).toBe('connecting');
    for (let i = 0; i < 3; i++) await byCount.publish(TOPIC, enc(`count-${i}`));
    const full = await rejection(byCount.publish(TOPIC, enc('count-3')));
    expect(full.code).toBe('E_QUEUE_FULL');
    await byBytes.publish(TOPIC, new Uint8Array(60).fill(1));
    expect((await rejection(byBytes.publish(TOPIC, new Uint8Array(60).fill(2)))).code).toBe('E_QUEUE_FULL');
    await byBytes.publish(TOPIC, new Uint8Array(40).fill(3)); // still fits: 100 bytes exactly

    await relay({}, port); // retention replays the flushed frames to a subscriber that comes a moment later
    const sub = client({ urls: [url] }).t;
    const got: Uint8Array[] = [];
    await sub.subscribe(TOPIC, (f) => got.push(f));
    await waitUntil(() => got.length === 5, 10_000, `5 frames (got ${got.length})`);
    const texts = got.filter((f) => f.length < 40 || f[0]! > 3).map(dec);
    expect(texts).toEqual(['count-0', 'count-1', 'count-2']);
    expect(got.filter((f) => f.length >= 40).map((f) => [f.length, f[0]])).toEqual([[60, 1], [40, 3]]);
  });

  it('after a relay restart (1012) reconnects at once to the next URL and restores its subscriptions', async () => {
    const a = await relay();
    const b = await relay();
    const { t, events } = client({ urls: [a.url, b.url], minReconnectDelayMs: 5_000, maxReconnectDelayMs: 10_000 });
    const got: string[] = [];
    await t.subscribe(TOPIC, (f) => got.push(dec(f)));
    expect(t.url).toBe(a.url);
    await a.relay.close();
    // A 5 s backoff would fail this wait: the move after 1012 is immediate.
    await waitUntil(() => t.state === 'open', 3000, 'open on the second relay');
    expect(t.url).toBe(b.url);
    expect(events.some((e) => e.type === 'connection-lost' && e.closeCode === 1012)).toBe(true);
    const other = client({ urls: [b.url] }).t;
    await waitUntil(() => other.state === 'open', 5000, 'other open');
    await other.publish(TOPIC, enc('via b'));
    await waitUntil(() => got.includes('via b'), 5000, 'delivery through the second relay');
  });
});

describe('close()', () => {
  it('while reconnecting: pending subscribe() rejects E_CLOSED, the queue is dropped, no attempt follows', async () => {
    const port = await freePort(); // nothing listens: the transport keeps retrying
    const { WebSocket, sockets } = await trackingWebSocket();
    const { t } = client({ urls: [`ws://127.0.0.1:${port}/`], WebSocket });
    const states: string[] = [];
    t.onStateChange((s) => states.push(s));
    const pending = rejection(t.subscribe(TOPIC, () => undefined));
    await t.publish(TOPIC, enc('queued'));
    await waitUntil(() => sockets.size >= 3, 5000, 'a few attempts');
    await t.close();
    expect((await pending).code).toBe('E_CLOSED');
    expect(t.queuedFrames).toBe(0);
    expect(states.at(-1)).toBe('closed');
    const attempts = sockets.size;
    await sleep(300); // several backoff periods (20..200 ms)
    expect(sockets.size).toBe(attempts);
    expect([...sockets].every((s) => s.readyState === 3)).toBe(true);
    await t.close(); // idempotent
  });
});

describe('relay refusals are typed', () => {
  const secret = 'a relay admission secret of 32 b';

  it('4001 with a fixed token: closed with a typed error, no reconnect loop; pending subscribe rejects', async () => {
    const r = await relay({ admission: { secret } });
    const { t, events } = client({ urls: [r.url], token: 'not-a-valid-token' });
    const pending = rejection(t.subscribe(TOPIC, () => undefined));
    await waitUntil(() => t.state === 'closed', 5000, 'closed');
    const e = await pending;
    expect(e.code).toBe('E_TRANSPORT');
    expect(events.filter((x) => x.type === 'token-rejected')).toMatchObject([{ closeCode: 4001, error: { code: 'E_TRANSPORT' } }]);
    expect((await rejection(t.publish(TOPIC, enc('x')))).code).toBe('E_CLOSED');
  });

  it('4001 with a token function: a new token retries at once; the same token again closes', async () => {
    const r = await relay({ admission: { secret } });
    const good = await createAdmissionToken({ secret, topic: TOPIC, ttlSeconds: 60 });
    const tokens = ['stale-token', good];
    let calls = 0;
    const { t } = client({ urls: [r.url], token: () => tokens[Math.min(calls++, tokens.length - 1)] });
    await t.subscribe(TOPIC, () => undefined);
    expect(t.state).toBe('open');
    expect(calls).toBe(2);

    let same = 0;
    const { t: stuck, events } = client({ urls: [r.url], token: () => (same++, 'always-the-same') });
    await waitUntil(() => stuck.state === 'closed', 5000, 'closed');
    expect(same).toBe(2); // one attempt, one more question after 4001: no loop
    expect(events.map((e) => e.type)).toContain('token-rejected');
  });

  it('ERROR 5 (token scope) and ERROR 3 (too many topics) reject subscribe() with a SealsigError', async () => {
    const r = await relay({ admission: { secret }, maxTopicsPerConnection: 1 });
    const token = await createAdmissionToken({ secret, topic: TOPIC, ttlSeconds: 60 });
    const { t, events } = client({ urls: [r.url], token });
    const outOfScope = await rejection(t.subscribe('another-topic', () => undefined));
    expect(outOfScope.code).toBe('E_TRANSPORT');
    expect(events).toMatchObject([{ type: 'relay-error', relayCode: 5, topic: 'another-topic' }]);

    const open = await relay({ maxTopicsPerConnection: 1 });
    const { t: u, events: uEvents } = client({ urls: [open.url] });
    await u.subscribe('first-topic', () => undefined);
    const tooMany = await rejection(u.subscribe('second-topic', () => undefined));
    expect(tooMany.code).toBe('E_TRANSPORT');
    expect(uEvents).toMatchObject([{ type: 'relay-error', relayCode: 3, topic: 'second-topic' }]);
    expect(u.state).toBe('open'); // a refused subscription is not a broken connection
  });

  it('ERROR 2 on a SUBSCRIBE: retried after a delay until the relay accepts it', async () => {
    const r = await relay({ rateLimit: { subscriptions: { perSecond: 20, burst: 1 } } });
    const { t, events } = client({ urls: [r.url] });
    const topics = ['rate-a', 'rate-b', 'rate-c', 'rate-d'];
    await Promise.all(topics.map((topic) => t.subscribe(topic, () => undefined)));
    expect(events.some((e) => e.type === 'relay-error' && e.relayCode === 2)).toBe(true);
    const other = client({ urls: [r.url] }).t;
    const got: string[] = [];
    await t.subscribe('rate-d', (f) => got.push(dec(f))).catch(() => undefined); // live already: resolves at once
    await waitUntil(() => other.state === 'open', 5000, 'other open');
    await other.publish('rate-d', enc('made it'));
    await waitUntil(() => got.includes('made it'), 5000, 'delivery on a retried subscription');
  });

  it('ERROR 4: a frame over the relay limit is reported as E_FRAME_TOO_LARGE', async () => {
    const r = await relay({ maxFrameBytes: 100 });
    const { t, events } = client({ urls: [r.url] });
    await waitUntil(() => t.state === 'open', 5000, 'open');
    await t.publish(TOPIC, new Uint8Array(101));
    await waitUntil(() => events.length > 0, 5000, 'an error event');
    expect(events[0]).toMatchObject({ type: 'relay-error', relayCode: 4, error: { code: 'E_FRAME_TOO_LARGE' } });
  });

  it('1008 (origin refused) is fatal', async () => {
    const r = await relay({ allowedOrigins: ['https://app.example'] });
    const { WebSocket: Base } = await resolveWebSocket(undefined);
    function FromElsewhere(url: string, protocols?: string | string[]) {
      return new Base(url, protocols, { origin: 'https://evil.example' });
    }
    const { t, events } = client({ urls: [r.url], WebSocket: FromElsewhere as unknown as WebSocketConstructor });
    await waitUntil(() => t.state === 'closed', 5000, 'closed');
    expect(events.filter((e) => e.type === 'origin-rejected')).toMatchObject([{ closeCode: 1008 }]);
  });
});

describe('a hostile relay', () => {
  it('drops and reports malformed messages, never throws, and keeps working', async () => {
    const { WebSocketServer } = (await import('ws')) as unknown as { WebSocketServer: new (o: object) => HostileServer };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise<void>((r) => server.on('listening', () => r()));
    const bad: (string | Uint8Array)[] = [
      'a text message',
      new Uint8Array([]),
      new Uint8Array([0x7f, 1, 2]),
      new Uint8Array([0x10, 3, 0x41, 0x2f, 0x42, 9]), // '/' in the topic
      new Uint8Array([0x10, 200, 0x41]), // topic length past the end
      new Uint8Array([0x12, 0, 1, 1, 0x41, 0xc3]), // truncated UTF-8 reason
      (() => { const m = new Uint8Array(2 + TOPIC.length + 24 + 1025); m[0] = 0x10; m[1] = TOPIC.length; m.set(enc(TOPIC), 2); return m; })(), // over maxFrameBytes
      new Uint8Array([0x10, 1, 0x41, 1, 2, 3]), // DELIVER without its position
      new Uint8Array([0x13, 0, 0, 1]), // ACK too short
    ];
    const position = new Uint8Array(24);
    server.on('connection', (ws) => {
      ws.on('message', (data: Uint8Array) => {
        if (data[0] !== 0x01) return;
        for (const m of bad) ws.send(m);
        const topic = enc(TOPIC);
        ws.send(new Uint8Array([0x11, topic.length, ...topic, ...position, 0])); // SUBSCRIBED
        ws.send(new Uint8Array([0x10, topic.length, ...topic, ...position, 1, 2, 3])); // a good DELIVER
      });
    });
    const { t, events } = client({ urls: [`ws://127.0.0.1:${server.address().port}/`], maxFrameBytes: 1024 });
    const got: Uint8Array[] = [];
    await t.subscribe(TOPIC, (f) => got.push(f));
    await waitUntil(() => got.length === 1, 5000, 'the good frame');
    expect(got[0]).toEqual(new Uint8Array([1, 2, 3]));
    expect(events.map((e) => [e.type, e.error.code])).toEqual(bad.map(() => ['malformed-message', 'E_FRAME_MALFORMED']));
    expect(t.state).toBe('open');
    expect(events.every((e) => isSealsigError(e.error))).toBe(true);
  });
});

describe('an oversized relay message', () => {
  it('is refused before allocation (ws maxPayload, close 1009); the client reconnects and resubscribes', async () => {
    const { WebSocketServer } = (await import('ws')) as unknown as { WebSocketServer: new (o: object) => HostileServer };
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    await new Promise<void>((r) => server.on('listening', () => r()));
    let connections = 0;
    server.on('connection', (ws) => {
      const n = ++connections;
      ws.on('message', (data: Uint8Array) => {
        if (data[0] !== 0x01) return;
        if (n === 1) ws.send(new Uint8Array(64 * 1024)); // far over what this client accepts
        else ws.send(new Uint8Array([0x11, ...data.subarray(1), ...new Uint8Array(25)])); // SUBSCRIBED (head, flags)
      });
    });
    const { t, events } = client({ urls: [`ws://127.0.0.1:${server.address().port}/`], maxFrameBytes: 1024 });
    await t.subscribe(TOPIC, () => undefined);
    expect(connections).toBe(2);
    // ws closes with 1009 and drops the TCP connection, so the close event may say 1009 or 1006.
    const lost = events.filter((e) => e.type === 'connection-lost').map((e) => e.closeCode);
    expect(lost).toHaveLength(1);
    expect([1006, 1009]).toContain(lost[0]);
    expect(t.state).toBe('open');
  });
});

interface HostileServer {
  on(event: 'listening', cb: () => void): void;
  on(event: 'connection', cb: (ws: { on(e: 'message', cb: (d: Uint8Array) => void): void; send(d: unknown): void }) => void): void;
  address(): { port: number };
  close(cb: () => void): void;
}
