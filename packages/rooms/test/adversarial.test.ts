/**
 * Rooms over a hostile network (docs/PROTOCOL.md §R): for random schedules of drops, duplicates and delays,
 * admission, kick and rotation still converge, and a kicked member never holds a later epoch.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createMemoryNetwork, randomFaults, ready, decodeFrame, toBase64Url } from '@sealsig/core';
import { createRoom, joinRoom } from '../src/index.js';
import { waitFor } from './helpers.js';

await ready();

const timing = { heartbeatMs: 150, handshakeRetryMs: 60, handshakeTimeoutMs: 4_000 };

describe('rooms under drop, duplicate and delay', () => {
  it('admission, kick and rotation converge; the kicked member stays behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), drop: fc.double({ min: 0, max: 0.15, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.3, noNaN: true }), maxDelayMs: fc.integer({ min: 0, max: 20 }) }),
        async (faults) => {
          const n = createMemoryNetwork();
          n.adversary = randomFaults(faults);
          const o = { session: timing, retryMs: 100 };
          const mod = await createRoom({ transport: n.connect(), name: 'mod', moderation: { admit: 'auto' }, ...o });
          const bob = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'bob', timeoutMs: 15_000, ...o });
          const carol = await joinRoom({ transport: n.connect(), invite: mod.invite, name: 'carol', timeoutMs: 15_000, ...o });
          try {
            await waitFor(() => mod.members.length === 2 && carol.members.length === 2, 10_000);
            const bobId = bob.id;
            await mod.kick(bobId, 'out');
            const kickEpoch = mod.epoch;
            const kickSeq = n.log.length;
            mod.rotate();
            await waitFor(() => carol.epoch === mod.epoch && carol.members.length === 1, 10_000);
            expect(carol.members[0]!.name).toBe('mod');
            // bob may have missed the KICKED notice, but no key reached it.
            expect(bob.closed ? 0 : bob.epoch).toBeLessThan(kickEpoch);
            // After the kick, nothing at all is addressed to bob.
            for (const p of n.log.slice(kickSeq)) {
              const h = decodeFrame(p.frame, 65_536).header;
              if (p.topic === mod.session.topic && h.recipient) expect(toBase64Url(h.recipient)).not.toBe(bobId);
            }
          } finally {
            for (const r of [bob, carol, mod]) await r.close();
          }
        },
      ),
      { numRuns: 6 },
    );
  });
});
