/**
 * draft-irtf-cfrg-cpace test vectors for CPACE-RISTR255-SHA512, reproduced through our own functions
 * (fixtures/README.md gives their source).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isSealsigError } from '@sealsig/core';
import {
  DSI,
  calculateGenerator,
  cpaceReady,
  deriveIsk,
  generatorString,
  iskIr,
  iskSy,
  scalarMult,
  scalarMultVfy,
  sidOutputIr,
  sidOutputOc,
  transcriptIr,
  transcriptOc,
} from '../src/index.js';
import { readFileSync } from 'node:fs';

interface Vectors {
  G_Coffee25519: Record<'PRS' | 'CI' | 'sid' | 'g' | 'ya' | 'ADa' | 'Ya' | 'yb' | 'ADb' | 'Yb' | 'K' | 'ISK_IR' | 'ISK_SY' | 'sid_output_ir' | 'sid_output_oc', string>;
  G_Coffee25519_points: {
    Valid: Record<'s' | 'X' | 'G.scalar_mult(s,decode(X))' | 'G.scalar_mult_vfy(s,X)', string>;
    'Invalid Y1': string;
    'Invalid Y2': string;
  };
}

const vectors = JSON.parse(readFileSync(new URL('./fixtures/cpace-ristretto255-sha512.json', import.meta.url), 'utf8')) as Vectors;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array): string => Buffer.from(u).toString('hex').toUpperCase();

const tc = vectors.G_Coffee25519;
const pts = vectors.G_Coffee25519_points;

beforeAll(async () => {
  await cpaceReady();
});

describe('G_Coffee25519 (CPACE-RISTR255-SHA512)', () => {
  const PRS = hex(tc.PRS);
  const CI = hex(tc.CI);
  const sid = hex(tc.sid);
  const ADa = hex(tc.ADa);
  const ADb = hex(tc.ADb);

  it('the inputs are the draft\'s: PRS "Password", CI lv_cat("A_initiator", "B_responder")', () => {
    expect(Buffer.from(PRS).toString()).toBe('Password');
    expect(Buffer.from(CI).toString('latin1')).toBe('\x0bA_initiator\x0bB_responder');
    expect(Buffer.from(ADa).toString()).toBe('ADa');
    expect(Buffer.from(ADb).toString()).toBe('ADb');
  });

  it('generator_string pads DSI and PRS to exactly one SHA-512 block', () => {
    const gs = generatorString(DSI, PRS, CI, sid, 128);
    // lv(DSI) + lv(PRS) + 1-byte length of the padding + padding = 128 bytes
    expect(1 + DSI.length + 1 + PRS.length + 1 + (128 - 1 - (1 + PRS.length) - (1 + DSI.length))).toBe(128);
    expect(gs.length).toBe(128 + 1 + CI.length + 1 + sid.length);
    expect(gs[0]).toBe(DSI.length);
  });

  it('g = calculate_generator(PRS, CI, sid)', () => {
    expect(toHex(calculateGenerator(PRS, CI, sid))).toBe(tc.g);
  });

  it('Ya = scalar_mult(ya, g) and Yb = scalar_mult(yb, g)', () => {
    const g = calculateGenerator(PRS, CI, sid);
    expect(toHex(scalarMult(hex(tc.ya), g))).toBe(tc.Ya);
    expect(toHex(scalarMult(hex(tc.yb), g))).toBe(tc.Yb);
  });

  it('K = scalar_mult_vfy(ya, Yb) = scalar_mult_vfy(yb, Ya)', () => {
    expect(toHex(scalarMultVfy(hex(tc.ya), hex(tc.Yb)))).toBe(tc.K);
    expect(toHex(scalarMultVfy(hex(tc.yb), hex(tc.Ya)))).toBe(tc.K);
  });

  it('ISK_IR, ISK_SY, sid_output_ir, sid_output_oc', () => {
    const K = hex(tc.K);
    const Ya = hex(tc.Ya);
    const Yb = hex(tc.Yb);
    expect(toHex(iskIr(sid, K, Ya, ADa, Yb, ADb))).toBe(tc.ISK_IR);
    expect(toHex(deriveIsk(sid, K, transcriptIr(Ya, ADa, Yb, ADb)))).toBe(tc.ISK_IR);
    expect(toHex(iskSy(sid, K, Ya, ADa, Yb, ADb))).toBe(tc.ISK_SY);
    // the symmetric transcript does not depend on which side is called "a"
    expect(toHex(iskSy(sid, K, Yb, ADb, Ya, ADa))).toBe(tc.ISK_SY);
    expect(transcriptOc(Ya, ADa, Yb, ADb)).toEqual(transcriptOc(Yb, ADb, Ya, ADa));
    expect(toHex(sidOutputIr(Ya, ADa, Yb, ADb))).toBe(tc.sid_output_ir);
    expect(toHex(sidOutputOc(Ya, ADa, Yb, ADb))).toBe(tc.sid_output_oc);
    expect(toHex(sidOutputOc(Yb, ADb, Ya, ADa))).toBe(tc.sid_output_oc);
  });
});

describe('G_Coffee25519_points', () => {
  it('valid: scalar_mult(s, decode(X)) and scalar_mult_vfy(s, X)', () => {
    const s = hex(pts.Valid.s);
    const X = hex(pts.Valid.X);
    expect(toHex(scalarMult(s, X))).toBe(pts.Valid['G.scalar_mult(s,decode(X))']);
    expect(toHex(scalarMultVfy(s, X))).toBe(pts.Valid['G.scalar_mult_vfy(s,X)']);
  });

  it.each([
    ['Invalid Y1 (not a canonical encoding)', pts['Invalid Y1']],
    ['Invalid Y2 (the identity)', pts['Invalid Y2']],
  ])('%s is rejected with E_AUTH_FAILED', (_name, Y) => {
    const s = hex(pts.Valid.s);
    let caught: unknown;
    try {
      scalarMultVfy(s, hex(Y));
    } catch (e) {
      caught = e;
    }
    expect(isSealsigError(caught, 'E_AUTH_FAILED')).toBe(true);
  });
});
