/**
 * §3.1 sequence numbers and §3.2 ACKs (acks.ts): counted without bound, written modulo 2^32, so they wrap
 * after PUBLISH 4 294 967 295; a client comparing in serial-number arithmetic finds what each ACK covers.
 * The count starts near 2^32 here (PublishAcks' `start`) rather than after 2^32 messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublishAcks } from '../src/acks.js';
import { ErrorCode, SEQ_MODULUS, decodeOutbound, encodeNack } from '../src/protocol.js';

/** What §3.1 tells a client: ACK `a` covers PUBLISH `s` (both mod 2^32) iff (a - s) mod 2^32 < 2^31. */
function covers(a: number, s: number): boolean {
  return (a - s + SEQ_MODULUS) % SEQ_MODULUS < 2 ** 31;
}

function wireSeq(message: Buffer): number {
  const m = decodeOutbound(new Uint8Array(message));
  if (m.kind !== 'ack' && m.kind !== 'nack') throw new Error(`not an ACK or NACK: ${m.kind}`);
  return m.seq;
}

describe('sequence numbers wrap at 2^32 (§3.1)', () => {
  it('ACKs PUBLISH 2^32 - 1, then 2^32 as 0 and onwards, and a NACK names its PUBLISH modulo 2^32', () => {
    const sent: number[] = [];
    const acks = new PublishAcks((m) => sent.push(wireSeq(m)), SEQ_MODULUS - 2);
    acks.next(); // PUBLISH 2^32 - 1
    acks.settled();
    acks.flush();
    for (let i = 0; i < 3; i++) {
      acks.next();
      acks.settled();
    }
    acks.flush();
    expect(sent).toEqual([SEQ_MODULUS - 1, 2]);
    expect(wireSeq(encodeNack(SEQ_MODULUS + 7, ErrorCode.rateLimited))).toBe(7);
    acks.stop();
  });

  it('property: for any start and any settle order, an ACK covers only settled PUBLISHes, and in the end all of them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 100 }),
        (start, viaEngine) => {
          // The client's view: the PUBLISHes it sent and no ACK covered yet (it compares numbers mod 2^32).
          let held: number[] = [];
          const settled = new Set<number>();
          let last: number | undefined;
          const acks = new PublishAcks((m) => {
            const a = wireSeq(m);
            const covered = held.filter((n) => covers(a, n % SEQ_MODULUS));
            for (const n of covered) expect(settled.has(n)).toBe(true);
            held = held.filter((n) => !covered.includes(n));
            last = a;
          }, start);
          const storing: number[] = [];
          const settle = (n: number): void => {
            settled.add(n);
            acks.stored(n);
          };
          for (const engine of viaEngine) {
            const seq = acks.next();
            held.push(seq);
            if (engine) {
              acks.hold(seq);
              storing.push(seq);
            } else {
              settled.add(seq);
              acks.settled();
            }
            if (storing.length > 2) settle(storing.shift()!);
          }
          while (storing.length > 0) settle(storing.shift()!);
          acks.flush();
          acks.stop();
          expect(held).toEqual([]);
          expect(last).toBe((start + viaEngine.length) % SEQ_MODULUS);
        },
      ),
    );
  });
});
