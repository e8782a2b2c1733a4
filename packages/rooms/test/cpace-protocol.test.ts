/** The CPace flow through the public API: agreement, negative controls and input validation. */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSealsigError, type ErrorCode } from '@sealsig/core';
import { cpaceInitiator, cpaceReady, cpaceResponder, cpaceSymmetric, type CpaceOptions } from '../src/index.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const sid = (): Uint8Array => crypto.getRandomValues(new Uint8Array(16));

function expectCode(f: () => unknown, code: ErrorCode): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isSealsigError(caught, code), String(caught)).toBe(true);
}

async function expectRejects(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const caught = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSealsigError(caught, code), String(caught)).toBe(true);
}

async function runIr(a: CpaceOptions, b: CpaceOptions): Promise<{ ia: Uint8Array; ib: Uint8Array; sa: Uint8Array; sb: Uint8Array }> {
  const A = await cpaceInitiator(a);
  const B = await cpaceResponder(b);
  const ra = A.finish(B.message, B.ad);
  const rb = B.finish(A.message, A.ad);
  return { ia: ra.isk, ib: rb.isk, sa: ra.sidOutput, sb: rb.sidOutput };
}

beforeAll(async () => {
  await cpaceReady();
});

describe('initiator-responder', () => {
  it('same password, CI and sid: equal 64-byte ISK and sid_output', async () => {
    const s = sid();
    const ci = utf8('room-1');
    const r = await runIr({ password: 'correct horse', sid: s, ci, ad: utf8('joiner') }, { password: 'correct horse', sid: s, ci, ad: utf8('member') });
    expect(r.ia.length).toBe(64);
    expect(r.ia).toEqual(r.ib);
    expect(r.sa).toEqual(r.sb);
    expect(r.ia).not.toEqual(r.sa);
  });

  it('wrong password: different ISK (but no error: CPace gives implicit authentication)', async () => {
    const s = sid();
    const r = await runIr({ password: 'hunter2', sid: s }, { password: 'hunter3', sid: s });
    expect(r.ia).not.toEqual(r.ib);
    // sid_output is public and depends only on the transcript: it still matches
    expect(r.sa).toEqual(r.sb);
  });

  it('a different sid or CI on one side gives different ISKs', async () => {
    const s = sid();
    const r1 = await runIr({ password: 'pw', sid: s }, { password: 'pw', sid: sid() });
    expect(r1.ia).not.toEqual(r1.ib);
    const r2 = await runIr({ password: 'pw', sid: s, ci: utf8('a') }, { password: 'pw', sid: s, ci: utf8('b') });
    expect(r2.ia).not.toEqual(r2.ib);
  });

  it('AD seen differently by the two sides gives different ISKs', async () => {
    const s = sid();
    const A = await cpaceInitiator({ password: 'pw', sid: s, ad: utf8('a') });
    const B = await cpaceResponder({ password: 'pw', sid: s, ad: utf8('b') });
    expect(A.finish(B.message, utf8('tampered')).isk).not.toEqual(B.finish(A.message, A.ad).isk);
  });

  it('a flipped bit in Ya: E_AUTH_FAILED or a different ISK', async () => {
    for (let bit = 0; bit < 256; bit += 7) {
      const s = sid();
      const A = await cpaceInitiator({ password: 'pw', sid: s });
      const B = await cpaceResponder({ password: 'pw', sid: s });
      const Ya = A.message.slice();
      Ya[bit >> 3]! ^= 1 << (bit & 7);
      const ia = A.finish(B.message, B.ad).isk;
      let ib: Uint8Array | undefined;
      try {
        ib = B.finish(Ya, A.ad).isk;
      } catch (e) {
        expect(isSealsigError(e, 'E_AUTH_FAILED')).toBe(true);
      }
      if (ib !== undefined) expect(ib).not.toEqual(ia);
    }
  });

  it('the identity, an invalid encoding, a short share and a reflected share are E_AUTH_FAILED', async () => {
    const cases = [new Uint8Array(32), Uint8Array.from(Buffer.from('2B3C6B8C4F3800E7AEF6864025B4ED79BD599117E427C41BD47D93D654B4A51C', 'hex')), new Uint8Array(31)];
    for (const bad of cases) {
      const B = await cpaceResponder({ password: 'pw', sid: sid() });
      expectCode(() => B.finish(bad), 'E_AUTH_FAILED');
    }
    const B = await cpaceResponder({ password: 'pw', sid: sid() });
    expectCode(() => B.finish(B.message), 'E_AUTH_FAILED');
  });

  it('finish() is one-shot (the scalar is erased): E_HANDSHAKE the second time', async () => {
    const s = sid();
    const A = await cpaceInitiator({ password: 'pw', sid: s });
    const B = await cpaceResponder({ password: 'pw', sid: s });
    A.finish(B.message);
    expectCode(() => A.finish(B.message), 'E_HANDSHAKE');
  });

  it('an oversized peer AD is E_FRAME_TOO_LARGE', async () => {
    const A = await cpaceInitiator({ password: 'pw', sid: sid(), maxPeerAdBytes: 8 });
    const B = await cpaceResponder({ password: 'pw', sid: sid() });
    expectCode(() => A.finish(B.message, new Uint8Array(9)), 'E_FRAME_TOO_LARGE');
  });

  it('bad application inputs are E_INVALID_ARGUMENT', async () => {
    await expectRejects(cpaceInitiator({ password: '', sid: sid() }), 'E_INVALID_ARGUMENT');
    await expectRejects(cpaceInitiator({ password: 'x'.repeat(1025), sid: sid() }), 'E_INVALID_ARGUMENT');
    await expectRejects(cpaceInitiator({ password: 'pw', sid: 'abc' as unknown as Uint8Array }), 'E_INVALID_ARGUMENT');
    await expectRejects(cpaceInitiator({ password: 'pw', sid: new Uint8Array(257) }), 'E_INVALID_ARGUMENT');
    await expectRejects(cpaceInitiator({ password: 'pw', sid: sid(), ad: new Uint8Array(1025) }), 'E_INVALID_ARGUMENT');
    await expectRejects(cpaceInitiator(null as unknown as CpaceOptions), 'E_INVALID_ARGUMENT');
  });

  it('a string password is NFC-normalized: composed and decomposed forms agree', async () => {
    const s = sid();
    const r = await runIr({ password: 'caf\u00e9', sid: s }, { password: 'cafe\u0301', sid: s });
    expect(r.ia).toEqual(r.ib);
  });

  it('each run uses a fresh scalar: two runs with the same inputs give different shares', async () => {
    const s = sid();
    const a1 = await cpaceInitiator({ password: 'pw', sid: s });
    const a2 = await cpaceInitiator({ password: 'pw', sid: s });
    expect(a1.message).not.toEqual(a2.message);
  });
});

describe('symmetric', () => {
  it('both sides agree without roles; a wrong password disagrees', async () => {
    const s = sid();
    const P = await cpaceSymmetric({ password: 'pw', sid: s, ad: utf8('p') });
    const Q = await cpaceSymmetric({ password: 'pw', sid: s, ad: utf8('q') });
    const rp = P.finish(Q.message, Q.ad);
    const rq = Q.finish(P.message, P.ad);
    expect(rp.isk).toEqual(rq.isk);
    expect(rp.sidOutput).toEqual(rq.sidOutput);
    const X = await cpaceSymmetric({ password: 'pw!', sid: s });
    const Y = await cpaceSymmetric({ password: 'pw', sid: s });
    expect(X.finish(Y.message).isk).not.toEqual(Y.finish(X.message).isk);
  });
});

describe('properties', () => {
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });
  const password = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.uint8Array({ minLength: 1, maxLength: 40 }));

  it('same password: same ISK on both sides, for random sids, CIs and ADs', async () => {
    await fc.assert(
      fc.asyncProperty(password, bytes(32), bytes(40), bytes(40), bytes(40), async (pw, s, ci, ada, adb) => {
        const r = await runIr({ password: pw, sid: s, ci, ad: ada }, { password: pw, sid: s, ci, ad: adb });
        expect(r.ia).toEqual(r.ib);
      }),
      { numRuns: 60 },
    );
  });

  it('different passwords: different ISKs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ minLength: 1, maxLength: 40 })).filter(
          ([a, b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0,
        ),
        bytes(32),
        async ([pa, pb], s) => {
          const r = await runIr({ password: pa, sid: s }, { password: pb, sid: s });
          expect(r.ia).not.toEqual(r.ib);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('destroy() erases an abandoned run: finish() afterwards is E_HANDSHAKE', async () => {
    const sid = new Uint8Array(16).fill(3);
    const a = await cpaceInitiator({ password: 'pw', sid });
    const b = await cpaceResponder({ password: 'pw', sid });
    a.destroy();
    a.destroy(); // idempotent
    expect(() => a.finish(b.message)).toThrow(/E_HANDSHAKE/);
  });
});
