/**
 * PROTOCOL-RELAY.md §3.1: ACK and NACK carry PUBLISH numbers modulo 2^32 and the client compares them by
 * serial-number arithmetic (serial.ts). The publisher's count starts near 2^32 here (Publisher.opened's
 * `start`) rather than after 2^32 messages.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Publisher } from '../src/publisher.js';
import { SendQueue } from '../src/send-queue.js';
import { SEQ_MODULUS, unwrapSeq } from '../src/serial.js';

describe('unwrapSeq (§3.1)', () => {
  it('property: finds every PUBLISH fewer than 2^31 behind the last one, and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (latest, behind) => {
        const n = latest - behind;
        if (n >= 0) expect(unwrapSeq(n % SEQ_MODULUS, latest)).toBe(n);
        // A number ahead of the last PUBLISH names none of them.
        expect(unwrapSeq((latest + 1 + (behind % 1000)) % SEQ_MODULUS, latest)).toBeUndefined();
      }),
    );
  });

  it('across the wrap: 0 after 2^32 - 1, and no count below 0', () => {
    expect(unwrapSeq(0, SEQ_MODULUS + 3)).toBe(SEQ_MODULUS);
    expect(unwrapSeq(SEQ_MODULUS - 1, SEQ_MODULUS + 3)).toBe(SEQ_MODULUS - 1);
    expect(unwrapSeq(5, 3)).toBeUndefined();
  });
});

describe('Publisher across PUBLISH 2^32 (§3.1, §3.2)', () => {
  it('ACKs and NACKs after the wire numbers wrap settle the frames they name', () => {
    const sent: Uint8Array[] = [];
    const errors: string[] = [];
    const queue = new SendQueue(100, 1 << 20);
    const publisher = new Publisher(queue, { perSecond: 1_000, burst: 1_000 }, {
      send: (m) => (sent.push(m), true),
      socket: {},
      report: (type, error) => errors.push(`${type} ${error.code}`),
    });
    publisher.opened(SEQ_MODULUS - 3); // the next PUBLISHes are 2^32 - 2, 2^32 - 1, 2^32 (wire 0), 2^32 + 1 (wire 1), ...
    publisher.start();
    publisher.heard(); // the relay spoke (LIMITS or SUBSCRIBED, §3.5): more than one frame may fly
    for (let i = 0; i < 5; i++) publisher.publish('t', new Uint8Array([i]));
    expect(sent).toHaveLength(5);
    expect(queue.unacknowledged).toBe(5);

    publisher.acknowledged(SEQ_MODULUS - 1); // the first two
    expect(queue.unacknowledged).toBe(3);
    publisher.refused(1, 1, 'bad topic'); // PUBLISH 2^32 + 1: dropped, reported
    expect(errors).toEqual(['relay-error E_INVALID_ARGUMENT']);
    expect(queue.unacknowledged).toBe(2);
    publisher.acknowledged(2); // up to 2^32 + 2: all of them (a count compared with the 32-bit number never got here)
    expect(queue.unacknowledged).toBe(0);
    expect(queue.bytes).toBe(0);
    publisher.acknowledged(SEQ_MODULUS - 1 + 2 ** 31); // names none sent: ignored
    expect(publisher.queuedFrames).toBe(0);
    publisher.close();
  });
});
