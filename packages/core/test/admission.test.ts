/**
 * Admission work and admission queues (docs/PROTOCOL.md §6.5): a flood of fresh identities in one queue costs
 * the receiver no public-key work beyond what the queue admits, delays nothing in another queue, and a joiner
 * in the flooded queue gets ahead by putting more work into its hello. Virtual clock; counts only.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { toBase64Url } from '../src/bytes.js';
import { AdmissionQueues, PENDING_PER_QUEUE, helloEffort, leadingZeroBits, solveWork } from '../src/admission.js';

import { createSessionId, deriveSession, memberIdOf } from '../src/kdf.js';
import { createMemoryNetwork } from '../src/memory-transport.js';
import { type Session, type SessionOptions } from '../src/session.js';
import { joinSession } from '../src/join-session.js';
import { ed25519KeyPair, publicKeyOps, randomBytes, resetPublicKeyOps, x25519KeyPair } from '../src/sodium.js';
import { errorsOf, sealHelloAs, sessionsClosedAfterEach } from './helpers.js';

const open = sessionsClosedAfterEach();

describe('admission work (§6.5)', () => {
  it('leadingZeroBits counts from the most significant bit of the first byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 8 }), (bytes) => {
        const bits = [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('');
        const expected = bits.indexOf('1') === -1 ? bits.length : bits.indexOf('1');
        expect(leadingZeroBits(bytes)).toBe(expected);
      }),
    );
  });

  it('a solved nonce gives at least the effort asked, for that sender, instance and timestamp only', () => {
    const route = randomBytes(16);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 40 }), (bits, timestamp) => {
        const sender = randomBytes(16);
        const instance = randomBytes(8);
        const nonce = solveWork(route, sender, instance, timestamp, bits);
        expect(helloEffort(route, sender, instance, timestamp, nonce)).toBeGreaterThanOrEqual(bits);
      }),
      { numRuns: 40 },
    );
    // Bound to its inputs: the same nonce for another instance is (almost always) worth little.
    const sender = randomBytes(16);
    const nonce = solveWork(route, sender, randomBytes(8), 1, 16)!;
    const elsewhere = Array.from({ length: 20 }, () => helloEffort(route, sender, randomBytes(8), 1, nonce));
    expect(Math.max(...elsewhere)).toBeLessThan(16);
  });

  it('a queue keeps the highest efforts waiting and hands out one token per 1/rate', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const released: number[] = [];
    const queues = new AdmissionQueues({ queue: () => 'q', rate: 2, burst: 1 }, Date.now, (frame) => released.push(frame[0]!));
    expect(queues.take('q', 0, () => Uint8Array.of(0)).go).toBe(true); // the burst
    for (let e = 1; e <= 12; e++) expect(queues.take('q', e, () => Uint8Array.of(e)).go).toBe(false);
    expect(queues.waiting).toBe(PENDING_PER_QUEUE); // efforts 1..4 dropped for higher ones
    vi.advanceTimersByTime(500);
    vi.advanceTimersByTime(500);
    expect(released).toEqual([12, 11]);
    queues.clear();
  });
});

describe('a receiver admitting through queues (§6.5)', () => {
  it('a flood of fresh identities in one queue: no public-key work beyond what it admits; another queue gets in at once; more work gets ahead', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const rate = 2;
    const burst = 4;
    const admission: SessionOptions['admission'] = { queue: (meta) => (meta as { q?: string } | null)?.q, rate, burst };
    const moderatorP = joinSession({ sessionId, transport: net.connect(), admission });
    await vi.advanceTimersByTimeAsync(1);
    const moderator = await moderatorP;
    open.push(moderator);
    const joinedIds = new Set<string>();
    moderator.on('peer-joined', (p) => joinedIds.add(p.id));
    const keys = deriveSession(sessionId);
    // The flooder's identities, made ahead (its signing is not the receiver's cost). Its hellos go to the
    // moderator's inbox, so that the public-key counts below are the moderator's (a receiver processes a frame
    // the same way whatever topic delivered it, §3.6).
    const flood = Array.from({ length: 300 }, () => {
      const signing = ed25519KeyPair();
      const dh = x25519KeyPair();
      return { signing, payload: [signing.publicKey, dh.publicKey, true, { q: 'invite-A' }, null] };
    });
    const floodIds = new Set(flood.map((f) => toBase64Url(memberIdOf(keys.memberIdKey, f.signing.publicKey))));
    resetPublicKeyOps();
    let i = 0;
    const floodFor = async (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        for (let k = 0; k < 1 && i < flood.length; k++, i++) net.inject(moderator.inbox, sealHelloAs(sessionId, flood[i]!.signing, flood[i]!.payload, { timestamp: Date.now() }));
        await vi.advanceTimersByTimeAsync(10);
      }
    };
    await floodFor(1_000);
    // A joiner holding another invite: admitted at once.
    const other = joinSession({ sessionId, transport: net.connect(), meta: { q: 'invite-B' } });
    await floodFor(100);
    open.push(await other);
    expect(joinedIds.has((await other).id)).toBe(true);
    // A joiner holding the flooded invite, with 12 bits of work (the flood puts in none): admitted within
    // the next tokens of its queue, ahead of the flood waiting there.
    const same = joinSession({ sessionId, transport: net.connect(), meta: { q: 'invite-A' }, helloWork: 12 });
    await floodFor(1_100);
    open.push(await same);
    expect(joinedIds.has((await same).id)).toBe(true);
    await floodFor(900);
    const seconds = 3.1;
    const floodAdmitted = [...joinedIds].filter((id) => floodIds.has(id)).length;
    expect(floodAdmitted).toBeLessThanOrEqual(burst + Math.ceil(rate * seconds));
    // Verifications at the receiver: one per admitted hello (the queue comes before the signature), plus the
    // two joiners' other frames; not one per flooding hello (300).
    const verifies = publicKeyOps.ed25519Verify;
    expect(verifies).toBeLessThanOrEqual(floodAdmitted + 10);
    expect(moderator.stats.hellosQueued).toBeGreaterThan(250);
  });

  it('a hello the policy refuses is E_ACCESS_DENIED before any public-key work', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const receiver = await joinSession({ sessionId, transport: net.connect(), admission: { queue: () => undefined } });
    open.push(receiver);
    const errors = errorsOf(receiver);
    const signing = ed25519KeyPair();
    resetPublicKeyOps();
    net.inject(receiver.topic, sealHelloAs(sessionId, signing, [signing.publicKey, x25519KeyPair().publicKey, true, null, null]));
    await new Promise((r) => setTimeout(r, 5));
    expect(errors.map((e) => e.code)).toEqual(['E_ACCESS_DENIED']);
    expect(publicKeyOps.ed25519Verify).toBe(0);
    expect(receiver.peers).toEqual([]);
  });
});


describe('admission queue properties (§6.5)', () => {
  it('whatever arrives, a queue lets through at most burst + rate x t, keeps at most 8 waiting, and releases the highest effort waiting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 400 }), effort: fc.integer({ min: 0, max: 20 }) }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        (arrivals, rate, burst) => {
          vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
          try {
            const start = Date.now();
            const waitingEfforts: number[] = [];
            let through = 0;
            const released: { effort: number; best: number }[] = [];
            const queues = new AdmissionQueues({ queue: () => 'q', rate, burst }, Date.now, (frame) => {
              const effort = frame[0]!;
              released.push({ effort, best: Math.max(...waitingEfforts) });
              expect(waitingEfforts).toContain(effort);
              waitingEfforts.splice(waitingEfforts.indexOf(effort), 1);
              through++;
            });
            for (const { gapMs, effort } of arrivals) {
              vi.advanceTimersByTime(gapMs);
              const full = queues.waiting >= PENDING_PER_QUEUE;
              const lowest = Math.min(...waitingEfforts);
              const { go, dropped } = queues.take('q', effort, () => Uint8Array.of(effort));
              if (go) through++;
              else if (!full) {
                expect(dropped).toBe(0);
                waitingEfforts.push(effort);
              } else if (effort > lowest) {
                // A full queue drops its lowest effort for a higher one...
                expect(dropped).toBe(1);
                waitingEfforts.splice(waitingEfforts.indexOf(lowest), 1);
                waitingEfforts.push(effort);
              } else expect(dropped).toBe(1); // ...and drops a hello no higher than its lowest
              expect(queues.waiting).toBe(waitingEfforts.length);
              expect(queues.waiting).toBeLessThanOrEqual(PENDING_PER_QUEUE);
            }
            vi.advanceTimersByTime(10_000);
            const seconds = (Date.now() - start) / 1000;
            expect(through).toBeLessThanOrEqual(burst + rate * seconds + 1e-9);
            for (const r of released) expect(r.effort).toBe(r.best);
            queues.clear();
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
