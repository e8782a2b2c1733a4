/**
 * Project Wycheproof (C2SP, testvectors_v1, Apache-2.0) through sealsig's own wrappers in sodium.ts:
 * xchachaSeal/xchachaOpen, ed25519Verify and x25519. Every test case of each file runs.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../src/bytes.js';
import { SealsigError } from '../src/errors.js';
import { ed25519Verify, ready, x25519, xchachaOpen, xchachaSeal } from '../src/sodium.js';

type Result = 'valid' | 'invalid' | 'acceptable';

interface WycheproofFile<G> {
  algorithm: string;
  numberOfTests: number;
  testGroups: G[];
}

function load<G>(name: string): WycheproofFile<G> {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as WycheproofFile<G>;
}

interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: { tcId: number; comment: string; flags: string[]; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: Result }[];
}

interface EddsaGroup {
  publicKey: { pk: string };
  tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: Result }[];
}

interface XdhGroup {
  curve: string;
  tests: { tcId: number; comment: string; flags: string[]; public: string; private: string; shared: string; result: Result }[];
}

const xchacha = load<AeadGroup>('xchacha20_poly1305_test.json');
const ed25519 = load<EddsaGroup>('ed25519_test.json');
const x25519File = load<XdhGroup>('x25519_test.json');

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SealsigError) return e.code;
    return `untyped ${String(e)}`;
  }
  return 'no error';
}

function tally(results: Result[]): Record<Result, number> {
  const out: Record<Result, number> = { valid: 0, invalid: 0, acceptable: 0 };
  for (const r of results) out[r] += 1;
  return out;
}

beforeAll(async () => {
  await ready();
});

describe('Wycheproof xchacha20_poly1305_test.json via xchachaSeal / xchachaOpen', () => {
  const cases = xchacha.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs all 315 cases (246 valid, 69 invalid)', () => {
    expect(cases).toHaveLength(xchacha.numberOfTests);
    expect(xchacha.numberOfTests).toBe(315);
    expect(tally(cases.map((c) => c.t.result))).toEqual({ valid: 246, invalid: 69, acceptable: 0 });
  });

  it.each(cases.map(({ g, t }) => [t.tcId, t.result, t.comment, g, t] as const))('tcId %i (%s) %s', (_id, _r, _c, g, t) => {
    expect(g.tagSize).toBe(128);
    const key = fromHex(t.key);
    const iv = fromHex(t.iv);
    const aad = fromHex(t.aad);
    const msg = fromHex(t.msg);
    const sealed = concatBytes(fromHex(t.ct), fromHex(t.tag));
    if (t.result === 'valid') {
      expect(toHex(xchachaSeal(key, iv, msg, aad))).toBe(toHex(sealed));
      expect(toHex(xchachaOpen(key, iv, sealed, aad))).toBe(t.msg);
    } else {
      expect(t.result).toBe('invalid');
      expect(errorCode(() => xchachaOpen(key, iv, sealed, aad))).toBe('E_AUTH_FAILED');
      if (g.ivSize !== 192 || g.keySize !== 256) {
        // A nonce or key of the wrong size is the caller's mistake when sealing.
        expect(errorCode(() => xchachaSeal(key, iv, msg, aad))).toBe('E_INVALID_ARGUMENT');
      }
    }
  });
});

describe('Wycheproof ed25519_test.json via ed25519Verify', () => {
  const cases = ed25519.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs all 151 cases', () => {
    expect(cases).toHaveLength(ed25519.numberOfTests);
    expect(ed25519.numberOfTests).toBe(151);
    expect(tally(cases.map((c) => c.t.result))).toEqual({ valid: 88, invalid: 63, acceptable: 0 });
  });

  it.each(cases.map(({ g, t }) => [t.tcId, t.result, t.comment, g, t] as const))('tcId %i (%s) %s', (_id, _r, _c, g, t) => {
    const ok = ed25519Verify(fromHex(g.publicKey.pk), fromHex(t.msg), fromHex(t.sig));
    expect(ok).toBe(t.result === 'valid');
  });
});

describe('Wycheproof x25519_test.json via x25519', () => {
  const cases = x25519File.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('runs all 518 cases', () => {
    expect(cases).toHaveLength(x25519File.numberOfTests);
    expect(x25519File.numberOfTests).toBe(518);
    expect(tally(cases.map((c) => c.t.result))).toEqual({ valid: 264, invalid: 0, acceptable: 254 });
  });

  it.each(cases.map(({ g, t }) => [t.tcId, t.result, t.comment, g, t] as const))('tcId %i (%s) %s', (_id, _r, _c, g, t) => {
    expect(g.curve).toBe('curve25519');
    const run = (): string => toHex(x25519(fromHex(t.private), fromHex(t.public)));
    if (t.result === 'valid') {
      expect(run()).toBe(t.shared);
    } else if (t.result === 'acceptable') {
      if (/^0+$/.test(t.shared)) {
        // A low-order public key: sealsig refuses the all-zero secret.
        expect(errorCode(run)).toBe('E_AUTH_FAILED');
      } else {
        let out: string | undefined;
        const c = errorCode(() => (out = run()));
        expect(c === 'E_AUTH_FAILED' || out === t.shared, `${c} ${out}`).toBe(true);
      }
    } else {
      let out: string | undefined;
      const c = errorCode(() => (out = run()));
      expect(out === t.shared, c).toBe(false);
      expect(c === 'no error' || c === 'E_AUTH_FAILED').toBe(true);
    }
  });
});
