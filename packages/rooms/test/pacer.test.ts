/**
 * The moderator's pacer (src/pacer.ts, PROTOCOL.md §R5.3) over a fake pacing capability: it hands a frame to
 * the transport only while the transport holds none back, sends each member's newest frame once and a
 * replaced one never, and stops when the transport closes. A unit test: the transport is a fake. Then the
 * moderator behind it (a memory network, pacing faked): what a member is sent is decided at its turn.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealsigError, createMemoryNetwork, ready, type TransportPacing } from '@sealsig/core';
import { Pacer } from '../src/pacer.js';
import { createRoom, joinRoom, type Room } from '../src/index.js';
import { fast, waitFor } from './helpers.js';

/** A transport's pacing: `backlog` set by the test; drained() settles when it says. */
class FakePacing implements TransportPacing {
  backlog = 0;
  #waiters: { resolve: () => void; reject: (e: SealsigError) => void }[] = [];
  drained(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
  get pending(): number {
    return this.#waiters.length;
  }
  drain(): void {
    this.backlog = 0;
    for (const w of this.#waiters.splice(0)) w.resolve();
  }
  close(): void {
    for (const w of this.#waiters.splice(0)) w.reject(new SealsigError('E_CLOSED', 'transport is closed'));
  }
}

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

describe('Pacer', () => {
  it('sends only while the transport holds nothing back; each member gets its newest frame once, a replaced one never', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 9 }) }), fc.record({ held: fc.integer({ min: 0, max: 3 }) }), fc.constant({ drain: true })), { maxLength: 60 }),
        async (ops) => {
          const pacing = new FakePacing();
          const pacer = new Pacer(pacing);
          const sent: number[] = [];
          const replaced = new Set<number>();
          const unsent = new Map<number, number>(); // member -> its frame not sent yet
          let n = 0;
          for (const op of ops) {
            if ('push' in op) {
              const frame = n++;
              const before = unsent.get(op.push);
              if (before !== undefined) replaced.add(before);
              unsent.set(op.push, frame);
              pacer.push(String(op.push), () => {
                expect(pacing.backlog).toBe(0); // never handed over while the transport holds frames back
                sent.push(frame);
                if (unsent.get(op.push) === frame) unsent.delete(op.push);
                pacing.backlog += 1; // the transport may hold it back
              });
            } else if ('held' in op) pacing.backlog = op.held;
            else pacing.drain();
            await flush();
          }
          for (let i = 0; pacer.waiting > 0 && i < 100; i++) {
            pacing.drain();
            await flush();
          }
          expect(pacer.waiting).toBe(0);
          expect(new Set(sent).size).toBe(sent.length); // once each
          expect(sent.filter((f) => replaced.has(f))).toEqual([]); // a replaced frame never
          expect(sent.length + replaced.size).toBe(n); // every other one
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('without pacing sends at once; when the transport closes, what waits is dropped', async () => {
    const direct = new Pacer(undefined);
    const got: string[] = [];
    for (const id of ['a', 'b', 'a']) direct.push(id, () => got.push(id));
    expect(got).toEqual(['a', 'b', 'a']);

    const pacing = new FakePacing();
    const pacer = new Pacer(pacing);
    pacing.backlog = 5;
    pacer.push('a', () => got.push('late'));
    pacer.push('b', () => got.push('late'));
    expect(pacing.pending).toBe(1); // one drained() for the queue, not one per frame
    pacing.close();
    await flush();
    expect(pacer.waiting).toBe(0);
    pacing.drain();
    await flush();
    expect(got).toEqual(['a', 'b', 'a']);
  });
});

describe('the moderator behind a transport that holds frames back (§R5.3)', () => {
  it('decides what a member needs when its turn comes: two rotations queued meanwhile reach it as one state, without a repair', async () => {
    await ready();
    const n = createMemoryNetwork();
    const pacing = new FakePacing();
    const inner = n.connect();
    const direct: string[] = []; // the moderator's frames on members' inboxes, by envelope kind (4: direct)
    const paced = new Proxy(inner, {
      get(target, key) {
        if (key === 'pacing') return pacing;
        if (key === 'publish')
          return (topic: string, frame: Uint8Array) => {
            if (frame[3] === 4) direct.push(topic);
            return target.publish(topic, frame);
          };
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    // No repair in this test's time (retryMs): what the members get, the catch-up sent it.
    const mod = await createRoom({ transport: paced, name: 'mod', moderation: { admit: 'auto' }, session: fast, retryMs: 600_000 });
    const members: Room[] = [];
    for (const name of ['bob', 'carol', 'dave']) members.push(await joinRoom({ transport: n.connect(), invite: mod.invite, name, session: fast }));
    await waitFor(() => mod.members.length === 3 && members.every((m) => m.members.length === 3));
    const epoch = mod.epoch;
    pacing.backlog = 1; // the transport holds a frame back: the pacer waits
    direct.length = 0;
    mod.rotate();
    mod.rotate();
    await flush();
    expect(direct).toEqual([]);
    pacing.drain();
    await waitFor(() => members.every((m) => m.epoch === epoch + 2));
    expect(direct.length).toBe(3); // one frame each (the whole state: two versions behind), not one per rotation
    for (const r of [mod, ...members]) await r.close();
  });
});
