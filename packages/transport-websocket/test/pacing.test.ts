/**
 * Pacing under the relay's rate limit (relay-budget.ts, PROTOCOL-RELAY.md §4). A property first: whatever
 * the delays between sending a PUBLISH, the relay reading it and its ACK coming back (stalls of either event
 * loop included), a client that sends only while its budget allows never meets an empty relay bucket. Then
 * against a real relay with a small limit: a burst far over it arrives whole, without one `rate_limited` drop,
 * while `pacing` reports the frames held back.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { RelayBudget, type RateLimit } from '../src/relay-budget.js';
import { createWebSocketTransport, type WebSocketTransport } from '../src/index.js';
import { freePort, startRelay, waitUntil, type RunningRelay } from './helpers.js';

/** The relay's bucket as PROTOCOL-RELAY.md §4 states it (packages/relay/src/rate-limit.ts): full at first, refilled continuously. */
class RelayBucket {
  #tokens: number;
  #last: number;
  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.burst;
    this.#last = now;
  }
  take(now: number): boolean {
    if (now > this.#last) {
      this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#last) * this.limit.perSecond) / 1000);
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * One step of the timeline: time passes (often none, sometimes a long stall); the relay reads some of the
 * frames on their way, in order, and may acknowledge what it read; some ACKs reach the client; the client
 * sends as many as its budget allows, up to `send` (greedy: the hardest case for the relay).
 */
const step = fc.record({
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3_000 })),
  read: fc.integer({ min: 0, max: 300 }),
  ack: fc.boolean(),
  deliver: fc.integer({ min: 0, max: 3 }),
  send: fc.integer({ min: 0, max: 300 }),
});

describe('RelayBudget', () => {
  it('never lets a frame reach an empty relay bucket, however frames and ACKs are delayed', () => {
    fc.assert(
      fc.property(
        fc.record({ perSecond: fc.integer({ min: 1, max: 1_000 }), burst: fc.integer({ min: 1, max: 300 }) }),
        fc.array(step, { minLength: 1, maxLength: 300 }),
        (limit, steps) => {
          let now = 0;
          const budget = new RelayBudget(limit, now);
          const relay = new RelayBucket(limit, now);
          let sent = 0; // frames the client sent
          let read = 0; // frames the relay read, in order (TCP)
          const acks: number[] = []; // ACKs on their way back, in order
          for (const step of steps) {
            now += step.dt;
            for (let i = 0; i < step.read && read < sent; i++, read++) if (!relay.take(now)) return false;
            if (step.ack) acks.push(read);
            for (const seq of acks.splice(0, step.deliver)) budget.acknowledged(seq, now);
            for (let i = 0; i < step.send && budget.allows(now); i++) (budget.sent(), sent++);
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps the relay rate once ACKs flow: over 10 s of prompt ACKs it sends about burst + perSecond x 10', () => {
    const limit = { perSecond: 100, burst: 200 };
    const budget = new RelayBudget(limit, 0);
    let sent = 0;
    for (let t = 0; t <= 10_000; t += 5) {
      budget.acknowledged(sent, t); // the relay read and acknowledged everything at once
      while (budget.allows(t)) (budget.sent(), sent++);
    }
    expect(sent).toBeLessThanOrEqual(200 + 100 * 10);
    expect(sent).toBeGreaterThanOrEqual(200 + 100 * 10 - 2);
  });

  it('sends nothing more until an ACK or the refill: waitMs says how long the refill takes', () => {
    const budget = new RelayBudget({ perSecond: 10, burst: 2 }, 0);
    budget.sent();
    budget.sent();
    expect(budget.allows(10_000)).toBe(false); // in flight: maybe not read yet, however long ago they went
    budget.acknowledged(2, 50);
    expect(budget.allows(50)).toBe(false);
    expect(budget.waitMs(50)).toBe(101); // one token at 10/s, counted from the ACK (plus the float slack)
    expect(budget.allows(151)).toBe(true);
  });
});

describe('pacing against a real relay', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a burst of 10x the relay burst arrives whole with no rate_limited drop; pacing reports the backlog, drained() resolves, close() rejects it', async () => {
    const limit = { perSecond: 200, burst: 10 };
    const running: RunningRelay = await startRelay({ rateLimit: { frames: limit } });
    cleanups.push(() => running.relay.close());
    const open = (): WebSocketTransport => {
      const t = createWebSocketTransport({ urls: [running.url], publishLimit: limit });
      cleanups.push(() => t.close());
      return t;
    };
    const sub = open();
    const pub = open();
    const got = new Set<number>();
    await sub.subscribe('pacing', (f) => got.add(f[0]! | (f[1]! << 8)));
    await waitUntil(() => pub.state === 'open', 5000, 'publisher open');
    let most = 0;
    for (let i = 0; i < 100; i++) {
      await pub.publish('pacing', new Uint8Array([i & 0xff, i >> 8]));
      most = Math.max(most, pub.pacing.backlog);
    }
    expect(most).toBeGreaterThan(50); // held back, not sent into the relay's refusal
    await pub.pacing.drained();
    expect(pub.pacing.backlog).toBe(0);
    await waitUntil(() => got.size === 100, 10_000, `the whole burst (got ${got.size})`);
    expect(running.relay.metrics().drops).toEqual({});
  });

  it('while disconnected the backlog holds every frame; close() rejects a waiting drained() and later calls', async () => {
    const t = createWebSocketTransport({ urls: [`ws://127.0.0.1:${await freePort()}`] }); // nothing listens
    await t.publish('pacing', new Uint8Array(3));
    await t.publish('pacing', new Uint8Array(4));
    expect(t.pacing.backlog).toBe(2);
    const waiting = t.pacing.drained();
    await t.close();
    await expect(waiting).rejects.toMatchObject({ code: 'E_CLOSED' });
    await expect(t.pacing.drained()).rejects.toMatchObject({ code: 'E_CLOSED' });
  });
});
