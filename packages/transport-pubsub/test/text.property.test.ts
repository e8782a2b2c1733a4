/** base64url for text-only services (src/text.ts): round trips, strictness, and the size limit checked first. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealsigError } from '@sealsig/core';
import { decodeText, encodeText } from '../src/index.js';

describe('base64url text encoding', () => {
  it('round-trips any bytes up to the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expect(decodeText(encodeText(bytes), 3000)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses any other string with a typed error, never a throw of another kind', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }), fc.base64String({ maxLength: 200 })), (text) => {
        try {
          const bytes = decodeText(text, 100);
          expect(encodeText(bytes)).toBe(text); // accepted only when canonical
        } catch (e) {
          expect(isSealsigError(e)).toBe(true);
          expect(['E_FRAME_MALFORMED', 'E_FRAME_TOO_LARGE']).toContain((e as { code: string }).code);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('checks the length before decoding', () => {
    expect(() => decodeText('A'.repeat(1_000_000), 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_TOO_LARGE' }));
    expect(() => decodeText(encodeText(new Uint8Array(101)), 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_TOO_LARGE' }));
    expect(decodeText(encodeText(new Uint8Array(100)), 100)).toHaveLength(100);
    expect(() => decodeText('AB=', 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_MALFORMED' })); // padding
    expect(() => decodeText('AB', 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_MALFORMED' })); // non-zero trailing bits
    expect(() => decodeText('A+/A', 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_MALFORMED' })); // base64, not base64url
    expect(() => decodeText(42, 100)).toThrow(expect.objectContaining({ code: 'E_FRAME_MALFORMED' }));
  });
});
