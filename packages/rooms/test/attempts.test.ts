/** AttemptLimiter on an injected clock. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSealsigError } from '@sealsig/core';
import { AttemptLimiter, type AttemptLimiterOptions } from '../src/index.js';

function limiter(options: AttemptLimiterOptions = {}): { l: AttemptLimiter; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { l: new AttemptLimiter({ now: () => clock.t, ...options }), clock };
}

function refused(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    expect(isSealsigError(e, 'E_RATE_LIMITED')).toBe(true);
    return true;
  }
}

describe('AttemptLimiter', () => {
  it('defaults: 5 per joiner per 10 minutes, 50 global, 4 concurrent', () => {
    const l = new AttemptLimiter();
    expect([l.maxAttemptsPerJoiner, l.windowMs, l.maxAttemptsGlobal, l.maxConcurrent]).toEqual([5, 600_000, 50, 4]);
  });

  it('locks a joiner out after 5 failed attempts until the oldest leaves the window', () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 5; i++) {
      l.begin('mallory').fail();
      clock.t += 1000;
    }
    expect(refused(() => l.begin('mallory'))).toBe(true);
    expect(l.attempts('mallory')).toBe(5);
    // the first attempt was at t0, now is t0 + 5 s: it leaves the window at t0 + 600 s
    expect(l.retryAfter('mallory')).toBe(595_000);
    // other joiners are not affected
    l.begin('alice').succeed();
    clock.t += 594_999;
    expect(refused(() => l.begin('mallory'))).toBe(true);
    clock.t += 1;
    expect(l.retryAfter('mallory')).toBe(0);
    const t = l.begin('mallory');
    t.fail();
    expect(l.attempts('mallory')).toBe(5);
    expect(refused(() => l.begin('mallory'))).toBe(true);
  });

  it('an attempt counts from the start: abandoned or still running runs count too', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 2, maxConcurrent: 10 });
    l.begin('m'); // never settled
    l.begin('m'); // never settled
    expect(refused(() => l.begin('m'))).toBe(true);
  });

  it('a verified success takes its attempt back', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 2 });
    for (let i = 0; i < 10; i++) l.begin('alice').succeed();
    expect(l.attempts('alice')).toBe(0);
    expect(l.trackedJoiners).toBe(0);
    l.begin('alice').fail();
    l.begin('alice').succeed();
    expect(l.attempts('alice')).toBe(1);
  });

  it('tickets settle once: a second succeed()/fail() is a no-op', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 3, maxConcurrent: 1 });
    const t = l.begin('m');
    t.fail();
    t.succeed();
    t.fail();
    expect(l.attempts('m')).toBe(1);
    expect(l.active).toBe(0);
  });

  it('bounds concurrent runs', () => {
    const { l } = limiter({ maxConcurrent: 2 });
    const a = l.begin('a');
    l.begin('b');
    expect(refused(() => l.begin('c'))).toBe(true);
    expect(l.active).toBe(2);
    a.succeed();
    expect(l.active).toBe(1);
    l.begin('c');
  });

  it('bounds attempts over all joiners (rotating member ids does not help)', () => {
    const { l, clock } = limiter({ maxAttemptsGlobal: 20, maxConcurrent: 100 });
    for (let i = 0; i < 20; i++) l.begin(`sybil-${i}`).fail();
    expect(refused(() => l.begin('sybil-new'))).toBe(true);
    expect(l.retryAfter('sybil-new')).toBe(600_000);
    clock.t += 600_000;
    expect(l.attempts()).toBe(0);
    expect(l.trackedJoiners).toBe(0);
    l.begin('sybil-new').fail();
  });

  it('rejects bad options and joiner ids with E_INVALID_ARGUMENT', () => {
    for (const bad of [{ maxAttemptsPerJoiner: 0 }, { windowMs: -1 }, { maxConcurrent: 1.5 }, { maxAttemptsGlobal: Number.NaN }]) {
      let caught: unknown;
      try {
        new AttemptLimiter(bad);
      } catch (e) {
        caught = e;
      }
      expect(isSealsigError(caught, 'E_INVALID_ARGUMENT')).toBe(true);
    }
    const { l } = limiter();
    let caught: unknown;
    try {
      l.begin('');
    } catch (e) {
      caught = e;
    }
    expect(isSealsigError(caught, 'E_INVALID_ARGUMENT')).toBe(true);
  });

  it('property: within any window no joiner gets more than its budget of counted attempts, memory stays bounded', () => {
    const op = fc.record({
      joiner: fc.integer({ min: 0, max: 6 }),
      advance: fc.integer({ min: 0, max: 200_000 }),
      outcome: fc.constantFrom('succeed', 'fail', 'hold'),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const { l, clock } = limiter({ maxAttemptsPerJoiner: 3, maxAttemptsGlobal: 10, maxConcurrent: 3, windowMs: 600_000 });
        const counted = new Map<string, number[]>(); // start times of attempts not taken back
        const held: { settle: () => void }[] = [];
        for (const { joiner, advance, outcome } of ops) {
          clock.t += advance;
          if (held.length > 0 && advance % 3 === 0) held.shift()!.settle();
          const id = `j${joiner}`;
          let ticket;
          try {
            ticket = l.begin(id);
          } catch (e) {
            expect(isSealsigError(e, 'E_RATE_LIMITED')).toBe(true);
            continue;
          }
          const recent = (counted.get(id) ?? []).filter((t) => t > clock.t - 600_000);
          if (outcome === 'succeed') ticket.succeed();
          else {
            recent.push(clock.t);
            if (outcome === 'fail') ticket.fail();
            else held.push({ settle: () => ticket.fail() });
          }
          counted.set(id, recent);
          expect(recent.length).toBeLessThanOrEqual(3);
          expect(l.active).toBeLessThanOrEqual(3);
          expect(l.attempts()).toBeLessThanOrEqual(10);
          expect(l.trackedJoiners).toBeLessThanOrEqual(10);
        }
      }),
    );
  });
});
