/** AttemptLimiter on an injected clock (docs/PROTOCOL.md §R4: per joiner, per invite, concurrency). */
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
  it('defaults: 5 per joiner and 50 per invite per 10 minutes, 2 concurrent per invite, 8 in all, 64 invites', () => {
    const l = new AttemptLimiter();
    expect([l.maxAttemptsPerJoiner, l.windowMs, l.maxAttemptsPerInvite, l.maxConcurrentPerInvite, l.maxConcurrent, l.maxInvites]).toEqual([5, 600_000, 50, 2, 8, 64]);
  });

  it('locks a joiner out after 5 failed attempts until the oldest leaves the window', () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 5; i++) {
      l.begin('mallory', 'i1').fail();
      clock.t += 1000;
    }
    expect(refused(() => l.begin('mallory', 'i1'))).toBe(true);
    expect(l.attempts({ joinerId: 'mallory' })).toBe(5);
    // the first attempt was at t0, now is t0 + 5 s: it leaves the window at t0 + 600 s
    expect(l.retryAfter('mallory', 'i1')).toBe(595_000);
    // other joiners are not affected
    l.begin('alice', 'i1').succeed();
    clock.t += 594_999;
    expect(refused(() => l.begin('mallory', 'i1'))).toBe(true);
    clock.t += 1;
    expect(l.retryAfter('mallory', 'i1')).toBe(0);
    const t = l.begin('mallory', 'i1');
    t.fail();
    expect(l.attempts({ joinerId: 'mallory' })).toBe(5);
    expect(refused(() => l.begin('mallory', 'i1'))).toBe(true);
  });

  it('an attempt counts from the start: abandoned or still running runs count too', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 2, maxConcurrent: 10, maxConcurrentPerInvite: 10 });
    l.begin('m', 'i1'); // never settled
    l.begin('m', 'i1'); // never settled
    expect(refused(() => l.begin('m', 'i1'))).toBe(true);
  });

  it('a verified success takes its attempt back', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 2 });
    for (let i = 0; i < 10; i++) l.begin('alice', 'i1').succeed();
    expect(l.attempts({ joinerId: 'alice' })).toBe(0);
    expect(l.tracked.joiners).toBe(0);
    l.begin('alice', 'i1').fail();
    l.begin('alice', 'i1').succeed();
    expect(l.attempts({ joinerId: 'alice' })).toBe(1);
  });

  it('tickets settle once: a second succeed()/fail() is a no-op', () => {
    const { l } = limiter({ maxAttemptsPerJoiner: 3, maxConcurrent: 1 });
    const t = l.begin('m', 'i1');
    t.fail();
    t.succeed();
    t.fail();
    expect(l.attempts({ joinerId: 'm' })).toBe(1);
    expect(l.active()).toBe(0);
  });

  it('bounds concurrent runs in all and per invite', () => {
    const { l } = limiter({ maxConcurrent: 3, maxConcurrentPerInvite: 2 });
    const a = l.begin('a', 'i1');
    l.begin('b', 'i1');
    expect(refused(() => l.begin('c', 'i1')), 'a third run under the same invite').toBe(true);
    l.begin('c', 'i2');
    expect(refused(() => l.begin('d', 'i3')), 'a fourth run in all').toBe(true);
    expect([l.active(), l.active('i1'), l.active('i2')]).toEqual([3, 2, 1]);
    a.succeed();
    expect([l.active(), l.active('i1')]).toEqual([2, 1]);
    l.begin('c', 'i1');
  });

  it('bounds attempts per invite: rotating member ids under one invite does not help, another invite is untouched', () => {
    const { l, clock } = limiter({ maxAttemptsPerInvite: 20, maxConcurrent: 100, maxConcurrentPerInvite: 100 });
    for (let i = 0; i < 20; i++) l.begin(`sybil-${i}`, 'mallory-invite').fail();
    expect(refused(() => l.begin('sybil-new', 'mallory-invite'))).toBe(true);
    expect(l.retryAfter('sybil-new', 'mallory-invite')).toBe(600_000);
    // the honest holder of another invite still has its whole budget
    expect(l.retryAfter('alice', 'alice-invite')).toBe(0);
    l.begin('alice', 'alice-invite').fail();
    expect(l.attempts({ inviteId: 'alice-invite' })).toBe(1);
    clock.t += 600_000;
    expect(l.attempts()).toBe(0);
    expect(l.tracked).toEqual({ joiners: 0, invites: 0 });
    l.begin('sybil-new', 'mallory-invite').fail();
  });

  it('a joiner id is limited across invites (5 in all, whatever invite it shows)', () => {
    const { l } = limiter({ maxConcurrent: 100, maxConcurrentPerInvite: 100 });
    for (let i = 0; i < 5; i++) l.begin('mallory', `i${i}`).fail();
    expect(refused(() => l.begin('mallory', 'i9'))).toBe(true);
  });

  it('bounds the invites it remembers (maxInvites): a new invite waits until one leaves the window', () => {
    const { l, clock } = limiter({ maxInvites: 3, maxConcurrent: 100 });
    for (let i = 0; i < 3; i++) {
      l.begin(`j${i}`, `i${i}`).fail();
      clock.t += 1_000;
    }
    expect(refused(() => l.begin('j9', 'i9'))).toBe(true);
    l.begin('j8', 'i0').fail(); // a remembered invite is still served
    expect(l.retryAfter('j9', 'i9')).toBe(600_000 - 2_000); // i1's newest attempt, 2 s after t0, leaves first
    clock.t += 600_000 - 2_000;
    l.begin('j9', 'i9').fail();
  });

  it('rejects bad options and ids with E_INVALID_ARGUMENT', () => {
    for (const bad of [{ maxAttemptsPerJoiner: 0 }, { windowMs: -1 }, { maxConcurrent: 1.5 }, { maxAttemptsPerInvite: Number.NaN }, { maxConcurrentPerInvite: 0 }, { maxInvites: -2 }]) {
      let caught: unknown;
      try {
        new AttemptLimiter(bad);
      } catch (e) {
        caught = e;
      }
      expect(isSealsigError(caught, 'E_INVALID_ARGUMENT')).toBe(true);
    }
    const { l } = limiter();
    for (const [j, i] of [['', 'i1'], ['j', ''], [3, 'i1']] as const) {
      let caught: unknown;
      try {
        l.begin(j as string, i);
      } catch (e) {
        caught = e;
      }
      expect(isSealsigError(caught, 'E_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('property: within any window no joiner and no invite gets more than its budget, runs and memory stay bounded', () => {
    const op = fc.record({
      joiner: fc.integer({ min: 0, max: 6 }),
      invite: fc.integer({ min: 0, max: 4 }),
      advance: fc.integer({ min: 0, max: 200_000 }),
      outcome: fc.constantFrom('succeed', 'fail', 'hold'),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const { l, clock } = limiter({ maxAttemptsPerJoiner: 3, maxAttemptsPerInvite: 5, maxConcurrentPerInvite: 2, maxConcurrent: 3, maxInvites: 3, windowMs: 600_000 });
        const counted: { at: number; joiner: string; invite: string }[] = []; // attempts not taken back
        const held: { settle: () => void; invite: string }[] = [];
        const running = new Map<string, number>();
        for (const { joiner, invite, advance, outcome } of ops) {
          clock.t += advance;
          if (held.length > 0 && advance % 3 === 0) held.shift()!.settle();
          const [id, inv] = [`j${joiner}`, `i${invite}`];
          let ticket;
          try {
            ticket = l.begin(id, inv);
          } catch (e) {
            expect(isSealsigError(e, 'E_RATE_LIMITED')).toBe(true);
            continue;
          }
          if (outcome === 'succeed') ticket.succeed();
          else {
            counted.push({ at: clock.t, joiner: id, invite: inv });
            if (outcome === 'fail') ticket.fail();
            else {
              running.set(inv, (running.get(inv) ?? 0) + 1);
              held.push({ settle: () => (ticket.fail(), running.set(inv, running.get(inv)! - 1)), invite: inv });
            }
          }
          const recent = counted.filter((a) => a.at > clock.t - 600_000);
          expect(recent.filter((a) => a.joiner === id).length).toBeLessThanOrEqual(3);
          expect(recent.filter((a) => a.invite === inv).length).toBeLessThanOrEqual(5);
          expect(new Set(recent.map((a) => a.invite)).size).toBeLessThanOrEqual(3);
          expect(l.active()).toBeLessThanOrEqual(3);
          for (const n of running.values()) expect(n).toBeLessThanOrEqual(2);
          expect(l.attempts()).toBe(recent.length);
          expect(l.tracked.invites).toBeLessThanOrEqual(3);
        }
      }),
    );
  });
});
