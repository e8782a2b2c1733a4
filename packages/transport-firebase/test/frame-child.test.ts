/**
 * Unit and property tests of the stored child format (src/frame-child.ts): round trip, and no input
 * ever throws or decodes to something other than what a writer could have stored.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SealsigError, toBase64Url } from '@sealsig/core';
import { decodeFrameChild, encodeFrameChild, encodedLength } from '../src/index.js';

const MAX = 1024;

describe('frame child', () => {
  it('round-trips every frame up to maxFrameBytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX }), fc.integer({ min: 0, max: 2 ** 50 }), (frame, t) => {
        const stored = { ...encodeFrameChild(frame, 'writer'), t }; // the server fills in t
        expect(stored.d.length).toBe(encodedLength(frame.length));
        const decoded = decodeFrameChild('k', stored, MAX);
        expect(decoded.ok).toBe(true);
        if (decoded.ok) {
          expect(decoded.frame).toEqual(frame);
          expect(decoded.writer).toBe('writer');
        }
      }),
    );
  });

  it('writes the server timestamp placeholder, never a client clock', () => {
    expect(encodeFrameChild(new Uint8Array([1]), 'w').t).toEqual({ '.sv': 'timestamp' });
  });

  it('never throws on arbitrary JSON, and accepts only canonical children within the limit', () => {
    const child = fc.oneof(
      fc.jsonValue(),
      fc.record({ d: fc.oneof(fc.string({ maxLength: 1500 }), fc.jsonValue()), t: fc.jsonValue(), w: fc.jsonValue() }),
      fc.record({ d: fc.string({ unit: fc.constantFrom(...'AQgw-_x=+/'), maxLength: 1500 }), t: fc.double(), w: fc.string({ maxLength: 40 }) }),
    );
    fc.assert(
      fc.property(child, (value) => {
        const decoded = decodeFrameChild('k', value, MAX);
        if (!decoded.ok) {
          expect(decoded.error).toBeInstanceOf(SealsigError);
          expect(['E_FRAME_MALFORMED', 'E_FRAME_TOO_LARGE']).toContain(decoded.error.code);
          return;
        }
        const v = value as { d: string; t: number; w: string };
        expect(decoded.frame.length).toBeLessThanOrEqual(MAX);
        expect(toBase64Url(decoded.frame)).toBe(v.d); // canonical: one text per frame
        expect(Number.isFinite(v.t)).toBe(true);
        expect(v.w.length).toBeGreaterThan(0);
        expect(v.w.length).toBeLessThanOrEqual(32);
      }),
      { numRuns: 2000 },
    );
  });

  it('checks the size before decoding', () => {
    const atLimit = decodeFrameChild('k', { d: 'A'.repeat(encodedLength(MAX)), t: 1, w: 'w' }, MAX);
    expect(atLimit.ok && atLimit.frame.length).toBe(MAX); // 1366 characters: 1024 bytes, 4 zero bits
    const over = decodeFrameChild('k', { d: 'A'.repeat(encodedLength(MAX) + 1), t: 1, w: 'w' }, MAX);
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.code).toBe('E_FRAME_TOO_LARGE');
  });
});
