/** memoryDescriptorStore (src/store/memory-store.ts) on an injected clock, checkPut's validation, and the write proofs of §R7. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCanonical, fromHex, isSealsigError, ready, toHex, type KeyPair } from '@sealsig/core';
import { memoryDescriptorStore } from '../src/store/memory-store.js';
import { decodeWriteProof, MAX_PROOF_BYTES, putInput } from '../src/store/proof.js';
import { checkPut, DESCRIPTOR_MAX_BYTES } from '../src/store/store.js';
import type { ChainLink } from '../src/wire.js';

import { ID, ID2, code, handover, proof, signed, writer } from './store-helpers.js';

function store(maxEntries?: number) {
  const clock = { t: 1_000 };
  return { s: memoryDescriptorStore({ now: () => clock.t, maxEntries }), clock };
}

let A: KeyPair; // the moderator
let B: KeyPair; // its successor
let S: KeyPair; // an invite holder who is not the moderator
beforeAll(async () => {
  await ready();
  [A, B, S] = [writer(1), writer(2), writer(3)];
});

const v = (...bytes: number[]) => new Uint8Array(bytes);

describe('memoryDescriptorStore', () => {
  it('stores and returns a copy of the value', async () => {
    const { s } = store();
    const value = v(1, 2, 3);
    await s.put(ID, value, signed(A, ID, value, 1000, 1));
    value[0] = 9;
    const got = await s.get(ID);
    expect(got).toEqual(v(1, 2, 3));
    got![1] = 9;
    expect(await s.get(ID)).toEqual(v(1, 2, 3));
    expect(await s.get(ID2)).toBeUndefined();
  });

  it('forgets a value at its expiry; the id is then free for another key (a new first put binds it)', async () => {
    const { s, clock } = store();
    await s.put(ID, v(1), signed(A, ID, v(1), 100, 5));
    clock.t += 99;
    expect(await s.get(ID)).toEqual(v(1));
    clock.t += 1;
    expect(await s.get(ID)).toBeUndefined();
    await s.put(ID, v(2), signed(S, ID, v(2), 100, 1));
    expect(await s.get(ID)).toEqual(v(2));
  });

  it('an invite holder who is not the moderator cannot overwrite: another key is E_AUTH_FAILED, the bound key replaces', async () => {
    const { s } = store();
    await s.put(ID, v(1), signed(A, ID, v(1), 1000, 1));
    expect(await code(s.put(ID, v(2), signed(S, ID, v(2), 1000, 2)))).toBe('E_AUTH_FAILED');
    // Claiming the moderator's key without its secret: the signature does not verify.
    const forged = decodeWriteProof(proof(S, ID, v(2), 1000, 3));
    const { encodeWriteProof } = await import('../src/store/proof.js');
    expect(await code(s.put(ID, v(2), { ttlMs: 1000, proof: encodeWriteProof({ ...forged, writeKey: A.publicKey }) }))).toBe('E_AUTH_FAILED');
    expect(await s.get(ID)).toEqual(v(1));
    await s.put(ID, v(3), signed(A, ID, v(3), 1000, 2));
    expect(await s.get(ID)).toEqual(v(3));
  });

  it('a recorded older put is refused by the store (the serial must grow), and so is a proof moved to another value, ttl or id', async () => {
    const { s } = store();
    const first = signed(A, ID, v(1), 1000, 10);
    await s.put(ID, v(1), first);
    await s.put(ID, v(2), signed(A, ID, v(2), 1000, 11));
    expect(await code(s.put(ID, v(1), first)), 'replay of an older put').toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(2), signed(A, ID, v(2), 1000, 11))), 'same serial').toBe('E_AUTH_FAILED');
    const next = signed(A, ID, v(3), 1000, 12);
    expect(await code(s.put(ID, v(4), next)), 'another value').toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(3), { ...next, ttlMs: 999 })), 'another ttl').toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID2, v(3), next)), 'another id (first put)').toBe('E_AUTH_FAILED');
    expect(await s.get(ID)).toEqual(v(2));
    expect(await s.get(ID2)).toBeUndefined();
  });

  it('after a handover the successor can write, and the former moderator cannot lock it out', async () => {
    const { s } = store();
    await s.put(ID, v(1), signed(A, ID, v(1), 1000, 1));
    const recorded = signed(A, ID, v(2), 1000, 2);
    await s.put(ID, v(2), recorded);
    const chain = handover(ID, A, B);
    // A successor without the link, or a stranger with a link it signed itself, is refused.
    expect(await code(s.put(ID, v(3), signed(B, ID, v(3), 1000, 3)))).toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(3), signed(S, ID, v(3), 1000, 3, handover(ID, S, S))))).toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(3), signed(B, ID, v(3), 1000, 3, handover(ID2, A, B)))), 'a link for another room').toBe('E_AUTH_FAILED');
    await s.put(ID, v(3), signed(B, ID, v(3), 1000, 3, chain));
    expect(await s.get(ID)).toEqual(v(3));
    // The former moderator: a fresh put, one carrying the chain, a huge serial, a replay: all refused.
    expect(await code(s.put(ID, v(9), signed(A, ID, v(9), 1000, 4)))).toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(9), signed(A, ID, v(9), 1000, 4, chain)))).toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(9), signed(A, ID, v(9), 1000, Number.MAX_SAFE_INTEGER)))).toBe('E_AUTH_FAILED');
    expect(await code(s.put(ID, v(2), recorded))).toBe('E_AUTH_FAILED');
    // The successor keeps writing, with or without the chain.
    await s.put(ID, v(4), signed(B, ID, v(4), 1000, 5, chain));
    await s.put(ID, v(5), signed(B, ID, v(5), 1000, 6));
    expect(await s.get(ID)).toEqual(v(5));
    // Handing back: B -> A, the chain now A -> B -> A; the walk starts at B's link.
    const back = handover(ID, B, A, chain);
    await s.put(ID, v(6), signed(A, ID, v(6), 1000, 7, back));
    expect(await code(s.put(ID, v(7), signed(B, ID, v(7), 1000, 8, back)))).toBe('E_AUTH_FAILED');
    expect(await s.get(ID)).toEqual(v(6));
  });

  it('a handover skipping keys is accepted only when every link verifies (A -> B -> C, store bound to A)', async () => {
    const { s } = store();
    const C = writer(4);
    await s.put(ID, v(1), signed(A, ID, v(1), 1000, 1));
    const ab = handover(ID, A, B);
    const abc = handover(ID, B, C, ab);
    const tampered: ChainLink[] = [ab[0]!, { ...abc[1]!, version: abc[1]!.version + 1 }];
    expect(await code(s.put(ID, v(2), signed(C, ID, v(2), 1000, 2, tampered)))).toBe('E_AUTH_FAILED');
    const backwards: ChainLink[] = handover(ID, B, C, ab, 1); // version 1 after version 2
    expect(await code(s.put(ID, v(2), signed(C, ID, v(2), 1000, 2, backwards)))).toBe('E_AUTH_FAILED');
    await s.put(ID, v(2), signed(C, ID, v(2), 1000, 2, abc));
    expect(await s.get(ID)).toEqual(v(2));
  });

  it('refuses a new id beyond maxEntries with E_RATE_LIMITED, until entries expire', async () => {
    const { s, clock } = store(1);
    await s.put(ID, v(1), signed(A, ID, v(1), 100, 1));
    expect(await code(s.put(ID2, v(1), signed(A, ID2, v(1), 100, 1)))).toBe('E_RATE_LIMITED');
    clock.t += 100;
    expect(await code(s.put(ID2, v(1), signed(A, ID2, v(1), 100, 1)))).toBe('ok');
  });

  it('refuses bad arguments and malformed proofs with typed errors', async () => {
    const { s } = store();
    const ok = signed(A, ID, v(0), 1000, 1);
    expect(await code(s.put('short', v(0), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(`${ID}+`, v(0), ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put('AAAAAAAAAAAAAAAAAAAAAB', v(0), ok)), 'a non-canonical id').toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, [1] as unknown as Uint8Array, ok))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, new Uint8Array(DESCRIPTOR_MAX_BYTES + 1), ok))).toBe('E_FRAME_TOO_LARGE');
    const big = new Uint8Array(DESCRIPTOR_MAX_BYTES);
    expect(await code(s.put(ID, big, signed(A, ID, big, 1000, 1)))).toBe('ok');
    for (const ttlMs of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(await code(s.put(ID, v(0), { ttlMs, proof: ok.proof })), `ttl ${ttlMs}`).toBe('E_INVALID_ARGUMENT');
    }
    const malformed: [string, unknown][] = [
      ['no proof', undefined],
      ['empty', new Uint8Array(0)],
      ['too long', new Uint8Array(MAX_PROOF_BYTES + 1)],
      ['not msgpack', v(0xc1)],
      ['a 3-element array', encodeCanonical([A.publicKey, 1, new Uint8Array(64)])],
      ['a 31-byte key', encodeCanonical([A.publicKey.subarray(1), 1, new Uint8Array(64), []])],
      ['a negative serial', encodeCanonical([A.publicKey, -1, new Uint8Array(64), []])],
      ['a float serial', encodeCanonical([A.publicKey, 1.5, new Uint8Array(64), []])],
      ['a 63-byte signature', encodeCanonical([A.publicKey, 1, new Uint8Array(63), []])],
      ['a chain link of 2 elements', encodeCanonical([A.publicKey, 1, new Uint8Array(64), [[B.publicKey, new Uint8Array(64)]]])],
      ['17 links', encodeCanonical([A.publicKey, 1, new Uint8Array(64), Array.from({ length: 17 }, () => [B.publicKey, 1, 1, new Uint8Array(64)])])],
      ['a trailing byte', new Uint8Array([...ok.proof, 0])],
    ];
    for (const [what, p] of malformed) expect(await code(s.put(ID2, v(0), { ttlMs: 1000, proof: p as Uint8Array })), what).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.put(ID, v(1), undefined as never))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.get('nope'))).toBe('E_INVALID_ARGUMENT');
    expect(await code(s.get(7 as unknown as string))).toBe('E_INVALID_ARGUMENT');
  });

  it('checkPut accepts exactly the valid puts (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{21}[AQgw]$/), fc.string({ maxLength: 30 })),
        fc.integer({ min: 0, max: DESCRIPTOR_MAX_BYTES + 2 }),
        fc.oneof(fc.integer({ min: -5, max: 1e9 }), fc.double()),
        fc.integer({ min: 0, max: MAX_PROOF_BYTES + 2 }),
        (id, size, ttlMs, proofBytes) => {
          const valid = /^[A-Za-z0-9_-]{21}[AQgw]$/.test(id) && size <= DESCRIPTOR_MAX_BYTES && Number.isSafeInteger(ttlMs) && ttlMs >= 1 && proofBytes >= 1 && proofBytes <= MAX_PROOF_BYTES;
          let thrown: unknown;
          try {
            checkPut(id, new Uint8Array(size), { ttlMs, proof: new Uint8Array(proofBytes) });
          } catch (e) {
            thrown = e;
          }
          expect(thrown === undefined).toBe(valid);
          if (thrown !== undefined) expect(isSealsigError(thrown)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodeWriteProof refuses any corruption of a proof with E_INVALID_ARGUMENT or decodes it to the same fields (property)', () => {
    const good = proof(A, ID, v(1), 1000, 1_795_478_400_000, handover(ID, A, B));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: good.length }), (at, xor, cut) => {
        for (const bytes of [good.map((b, i) => (i === at ? b ^ xor : b)), good.subarray(0, cut)]) {
          try {
            const p = decodeWriteProof(bytes);
            expect(p.writeKey.length).toBe(32);
            expect(p.signature.length).toBe(64);
            expect(Number.isSafeInteger(p.serial)).toBe(true);
          } catch (e) {
            expect(isSealsigError(e) && e.code).toBe('E_INVALID_ARGUMENT');
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('only the moderator, then its certified successor, ever writes; serials only grow (property, random puts and replays)', async () => {
    type Op = { who: 'A' | 'B' | 'S'; chain: boolean; serial: number } | { replay: number } | { tick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ who: fc.constantFrom('A' as const, 'B' as const, 'S' as const), chain: fc.boolean(), serial: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ replay: fc.nat() }),
      fc.record({ tick: fc.integer({ min: 0, max: 60 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const { s, clock } = store();
        const keys = { A, B, S };
        const chain = handover(ID, A, B);
        const sent: { value: Uint8Array; opts: { ttlMs: number; proof: Uint8Array }; who: string; serial: number }[] = [];
        // The model: the bound writer and serial while the value is live.
        let bound: { who: string; serial: number; expires: number; value: Uint8Array } | undefined;
        let n = 0;
        for (const o of ops) {
          if (bound !== undefined && bound.expires <= clock.t) bound = undefined;
          if ('tick' in o) {
            clock.t += o.tick;
            continue;
          }
          const put = 'replay' in o ? sent[o.replay % Math.max(1, sent.length)] : undefined;
          if ('replay' in o && put === undefined) continue;
          const fresh = !('replay' in o) ? o : undefined;
          const value = put?.value ?? new Uint8Array([n++ & 0xff, 7]);
          const who = put?.who ?? fresh!.who;
          const serial = put?.serial ?? fresh!.serial;
          const opts = put?.opts ?? signed(keys[fresh!.who], ID, value, 50, serial, fresh!.chain ? chain : []);
          if (put === undefined) sent.push({ value, opts, who, serial });
          const carriesLink = put === undefined ? fresh!.chain : decodeWriteProof(opts.proof).chain.length > 0;
          const allowed = bound === undefined || (serial > bound.serial && (who === bound.who || (bound.who === 'A' && who === 'B' && carriesLink)));
          const result = await code(s.put(ID, value, opts));
          expect(result).toBe(allowed ? 'ok' : 'E_AUTH_FAILED');
          if (allowed) bound = { who, serial, expires: clock.t + 50, value };
          expect(await s.get(ID)).toEqual(bound?.value);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the shared descriptor-put vector (test/fixtures/descriptor-put.json; @sealsig/relay runs the same file)', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const v: any = JSON.parse(readFileSync(new URL('./fixtures/descriptor-put.json', import.meta.url), 'utf8'));
  const expected: Record<string, string> = { stored: 'ok', forbidden: 'E_AUTH_FAILED', bad_request: 'E_INVALID_ARGUMENT' };

  it('is the descriptor_put section of docs/test-vectors/rooms.json', () => {
    const rooms = JSON.parse(readFileSync(new URL('../../../docs/test-vectors/rooms.json', import.meta.url), 'utf8'));
    expect(v).toEqual(rooms.descriptor_put);
  });

  it('each put, applied in order to memoryDescriptorStore, gives the expected result; the signed inputs match', async () => {
    const { s } = store();
    for (const step of v.steps) {
      expect(toHex(putInput(fromHex(v.descriptor_id), step.serial, step.ttl_ms, fromHex(step.value))), step.description).toBe(step.signed_input);
      expect(await code(s.put(v.id, fromHex(step.value), { ttlMs: step.ttl_ms, proof: fromHex(step.proof) })), step.description).toBe(expected[step.expect]);
    }
    for (const m of v.malformed) expect(await code(s.put(v.id, fromHex(m.value), { ttlMs: m.ttl_ms, proof: fromHex(m.proof) })), m.description).toBe(expected[m.expect]);
    expect(await s.get(v.id)).toEqual(fromHex(v.steps.filter((x: { expect: string }) => x.expect === 'stored').at(-1).value));
  });
});
