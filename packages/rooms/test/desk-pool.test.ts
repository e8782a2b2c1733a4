/**
 * The lobby desk's pool on a virtual clock (docs/PROTOCOL.md §R3): quotas per invite and in all, listed keys
 * never refused for room, idle pending requests dropped, tombstones of decided ones kept 150 s and bounded.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ready } from '@sealsig/core';
import { DESK_LIMITS, DeskPool, tombstoneKey, type Pending } from '../src/desk-pool.js';
import { MEMBERS } from '../src/cpace/attempts.js';

await ready();

const p = (memberId: string, invite: string, heardAt = 0): Pending => ({ memberId, invite, heardAt });

describe('DeskPool (§R3)', () => {
  it('defaults: 64 pending, 8 per invite, 10 s idle, 150 s tombstones, 1024 of them', () => {
    expect(DESK_LIMITS).toEqual({ maxPending: 64, maxPendingPerInvite: 8, idleMs: 10_000, keepDecidedMs: 150_000, maxTombstones: 1024 });
  });

  it('one invite fills its quota of 8, not the pool; another invite and a listed key still get room', () => {
    const pool = new DeskPool<Pending>();
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      if (pool.room('flood', false) === 'ok') pool.add(p(`sybil-${i}`, 'flood'));
      else refused++;
    }
    expect([pool.pending('flood'), refused]).toEqual([8, 92]);
    expect(pool.room('honest', false)).toBe('ok');
    expect(pool.room(MEMBERS, true)).toBe('ok');
  });

  it('the pool bound holds in all (8 invites fill 64), but a listed key is never refused for room', () => {
    const pool = new DeskPool<Pending>();
    for (let inv = 0; inv < 8; inv++) for (let i = 0; i < 8; i++) pool.add(p(`j${inv}-${i}`, `i${inv}`));
    expect(pool.pending()).toBe(64);
    expect(pool.room('i9', false)).toBe('full');
    expect(pool.room('i0', false)).toBe('invite-full');
    expect(pool.room(MEMBERS, true)).toBe('ok');
  });

  it('a flood that holds slots without resending loses them after 10 s; a joiner that resends keeps its slot', () => {
    const pool = new DeskPool<Pending>();
    for (let i = 0; i < 8; i++) pool.add(p(`silent-${i}`, 'flood', 0));
    const honest = p('honest', 'other', 0);
    pool.add(honest);
    let now = 0;
    for (; now < 9_000; now += 1_000) pool.heard(honest, now); // retransmits every second
    expect(pool.sweep(9_999).map((x) => x.memberId)).toEqual([]);
    now = 10_000;
    pool.heard(honest, now);
    const dropped = pool.sweep(now);
    expect(dropped.length).toBe(8);
    expect([pool.pending('flood'), pool.pending('other'), pool.room('flood', false)]).toEqual([0, 1, 'ok']);
  });

  it('a decided request leaves the pool at once; its tombstone answers for 150 s, then is gone', () => {
    const pool = new DeskPool<Pending>();
    pool.add(p('bob', 'inv'));
    const key = tombstoneKey('bob', 'instance', new Uint8Array(16).fill(7));
    pool.remove('bob');
    pool.settle(key, { accepted: false, code: 'rejected', reason: 'not today' }, 1_000);
    expect(pool.pending()).toBe(0);
    expect(pool.answer(key, 150_999)).toEqual({ accepted: false, code: 'rejected', reason: 'not today' });
    expect(pool.answer(key, 151_000)).toBeUndefined();
    pool.sweep(151_000);
    expect(pool.tombstones).toBe(0);
    // The key binds the joiner's instance and nonce.
    expect(tombstoneKey('bob', 'other-instance', new Uint8Array(16).fill(7))).not.toBe(key);
    expect(tombstoneKey('bob', 'instance', new Uint8Array(16).fill(8))).not.toBe(key);
  });

  it('tombstones are bounded: the oldest go first', () => {
    const pool = new DeskPool<Pending>({ maxTombstones: 3 });
    for (let i = 0; i < 5; i++) pool.settle(`k${i}`, { accepted: true }, i);
    expect(pool.tombstones).toBe(3);
    expect([pool.answer('k0', 10), pool.answer('k1', 10), pool.answer('k4', 10)]).toEqual([undefined, undefined, { accepted: true }]);
  });

  it('property: pending per invite and in all never exceed the bounds; listed keys always fit; memory stays bounded', () => {
    const op = fc.record({
      joiner: fc.integer({ min: 0, max: 120 }),
      invite: fc.integer({ min: 0, max: 12 }), // 12: a listed key
      act: fc.constantFrom('request', 'request', 'resend', 'decide', 'leave'),
      advance: fc.integer({ min: 0, max: 4_000 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const pool = new DeskPool<Pending>({ maxPending: 16, maxPendingPerInvite: 3, maxTombstones: 20 });
        let now = 0;
        let listedPending = 0;
        for (const { joiner, invite, act, advance } of ops) {
          now += advance;
          pool.sweep(now);
          const id = `j${joiner}`;
          const listed = invite === 12;
          const inv = listed ? MEMBERS : `i${invite}`;
          if (act === 'request') {
            if (pool.get(id) !== undefined) pool.remove(id);
            const room = pool.room(inv, listed);
            if (listed) expect(room).toBe('ok');
            if (room === 'ok') pool.add(p(id, inv, now));
          } else if (act === 'resend') {
            const r = pool.get(id);
            if (r !== undefined) pool.heard(r, now);
          } else if (act === 'decide') {
            if (pool.remove(id) !== undefined) pool.settle(id, { accepted: true }, now);
          } else pool.remove(id);
          listedPending = pool.pending(MEMBERS);
          for (let i = 0; i < 12; i++) expect(pool.pending(`i${i}`)).toBeLessThanOrEqual(3);
          expect(pool.pending() - listedPending).toBeLessThanOrEqual(16);
          expect(pool.tombstones).toBeLessThanOrEqual(20);
        }
        // Nothing pending outlives 10 s without a retransmission.
        pool.sweep(now + 10_000);
        expect(pool.pending()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
