/** String utilities, against the examples printed in the appendix of draft-irtf-cfrg-cpace. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isSealsigError } from '@sealsig/core';
import { decodeMessage, encodeMessage, leb128, lexiographicallyLarger, lvCat, oCat, prependLen } from '../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const range = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

describe('prepend_len / lv_cat', () => {
  it('matches the draft examples', () => {
    expect(toHex(prependLen(new Uint8Array(0)))).toBe('00');
    expect(toHex(prependLen(ascii('1234')))).toBe('0431323334');
    expect(toHex(prependLen(range(127)).subarray(0, 2))).toBe('7f00');
    expect(prependLen(range(127)).length).toBe(128);
    expect(toHex(prependLen(range(128)).subarray(0, 3))).toBe('800100');
    expect(prependLen(range(128)).length).toBe(130);
    expect(toHex(lvCat(ascii('1234'), ascii('5'), ascii(''), ascii('6789')))).toBe('04313233340135000436373839');
  });

  it('LEB128 of larger lengths', () => {
    expect(toHex(leb128(300))).toBe('ac02');
    expect(toHex(leb128(16384))).toBe('808001');
    expect(() => leb128(-1)).toThrow(RangeError);
  });
});

describe('lexiographically_larger / o_cat', () => {
  it('matches the draft examples', () => {
    expect(lexiographicallyLarger(hex('00'), hex('0000'))).toBe(false);
    expect(lexiographicallyLarger(hex('01'), hex('0000'))).toBe(true);
    expect(lexiographicallyLarger(hex('0000'), hex('00'))).toBe(true);
    expect(lexiographicallyLarger(hex('0000'), hex('01'))).toBe(false);
    expect(lexiographicallyLarger(hex('0001'), hex('01'))).toBe(false);
    expect(lexiographicallyLarger(ascii('ABCD'), ascii('BCD'))).toBe(false);
    expect(toHex(oCat(ascii('ABCD'), ascii('BCD')))).toBe(toHex(ascii('ocBCDABCD')));
    expect(toHex(oCat(ascii('BCD'), ascii('ABCDE')))).toBe(toHex(ascii('ocBCDABCDE')));
  });

  it('o_cat is symmetric', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(oCat(a, b)).toEqual(oCat(b, a));
      }),
    );
  });
});

describe('MSG = lv_cat(Y, AD) encoding', () => {
  const expectCode = (f: () => unknown, code: 'E_FRAME_MALFORMED' | 'E_FRAME_TOO_LARGE'): void => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(isSealsigError(caught, code)).toBe(true);
  };

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 1024 }), (Y, AD) => {
        expect(decodeMessage(encodeMessage(Y, AD))).toEqual({ Y, AD });
      }),
    );
  });

  it('rejects the draft\'s invalid encodings (Inv_MSG1..4) with E_FRAME_MALFORMED', () => {
    for (const m of ['ffffff', 'ffff03', '00ffff03', '00ffffff']) expectCode(() => decodeMessage(hex(m)), 'E_FRAME_MALFORMED');
  });

  it('rejects wrong lengths, trailing bytes, overlong LEB128 and oversized AD', () => {
    const Y = new Uint8Array(32).fill(7);
    const good = encodeMessage(Y, ascii('ADa'));
    expectCode(() => decodeMessage(good.subarray(0, good.length - 1)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeMessage(Uint8Array.from([...good, 0])), 'E_FRAME_MALFORMED');
    expectCode(() => decodeMessage(encodeMessage(new Uint8Array(31), ascii('x'))), 'E_FRAME_MALFORMED');
    expectCode(() => decodeMessage(Uint8Array.from([32, ...Y, 0x83, 0x00, 1, 2, 3])), 'E_FRAME_MALFORMED');
    expectCode(() => decodeMessage(new Uint8Array(0)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeMessage(encodeMessage(Y, new Uint8Array(2000))), 'E_FRAME_TOO_LARGE');
    expectCode(() => decodeMessage(encodeMessage(Y, new Uint8Array(20)), 10), 'E_FRAME_TOO_LARGE');
  });

  it('never throws anything but a typed error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          decodeMessage(bytes, 16);
        } catch (e) {
          expect(isSealsigError(e)).toBe(true);
        }
      }),
    );
  });
});
