/** HoldBuffer (docs/PROTOCOL.md §R5): bounded, in order, expiring. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SealsigError } from '@sealsig/core';
import { HOLD_MS, HoldBuffer } from '../src/hold.js';

describe('HoldBuffer', () => {
  it('delivers in order on release, drops on forget, refuses after expiry', () => {
    const refused: string[] = [];
    const got: number[] = [];
    const b = new HoldBuffer((e: SealsigError) => refused.push(e.code));
    b.hold('p', () => got.push(1), 0);
    b.hold('p', () => got.push(2), 1);
    b.hold('q', () => got.push(9), 1);
    b.release('p', 5);
    expect(got).toEqual([1, 2]);
    b.forget('q');
    b.release('q', 6);
    expect(got).toEqual([1, 2]);
    b.hold('r', () => got.push(3), 0);
    b.release('r', HOLD_MS);
    expect(got).toEqual([1, 2]);
    expect(refused).toEqual(['E_ACCESS_DENIED']);
  });

  it('never holds more than its bounds, whatever arrives', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.nat({ max: 20_000 })), { maxLength: 2_000 }), (arrivals) => {
        let refused = 0; // messages, from the count each report carries
        let delivered = 0;
        const b = new HoldBuffer((e) => (refused += Number(/(\d+) message/.exec(e.message)![1])));
        let now = 0;
        for (const [peer, dt] of arrivals) b.hold(`p${peer}`, () => delivered++, (now += dt % 50));
        for (let p = 0; p <= 40; p++) b.release(`p${p}`, now);
        // Every message is either delivered or reported (expired or over a bound): none is lost silently.
        expect(delivered).toBeLessThanOrEqual(16 * 32);
        expect(delivered + refused).toBe(arrivals.length);
      }),
      { numRuns: 200 },
    );
  });
});
