/**
 * The wire codec (relay protocol v2), the backoff and the send queue, as units. The client's encoders
 * are checked against the relay's own decoder (@sealsig/relay), and the client's strict decoder must
 * never throw on arbitrary bytes.
 */
import { isSealsigError } from '@sealsig/core';
import { decodeInbound, encodeAck, encodeDeliver, encodeError, encodeLimits, encodeNack, encodeSubscribed } from '@sealsig/relay';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';
import { LIMITS_BYTES, Op, decodeRelayMessage, encodePublish, encodeSubscribe, encodeUnsubscribe, isValidTopic } from '../src/protocol.js';
import { SendQueue } from '../src/send-queue.js';

const topicArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const MAX = 4096;

const offsetArb = fc.record({ ms: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) });
const epochArb = fc.uint8Array({ minLength: 8, maxLength: 8 });
/** A position's 24 wire bytes, as the client keeps it. */
function positionBytes(epoch: Uint8Array, o: { ms: number; seq: number }): Uint8Array {
  const b = Buffer.alloc(24);
  b.set(epoch, 0);
  b.writeBigUInt64BE(BigInt(o.ms), 8);
  b.writeBigUInt64BE(BigInt(o.seq), 16);
  return new Uint8Array(b);
}

describe('relay protocol v2 codec', () => {
  it('PUBLISH / SUBSCRIBE / UNSUBSCRIBE as the relay decodes them', () => {
    fc.assert(
      fc.property(topicArb, fc.uint8Array({ minLength: 1, maxLength: 512 }), (topic, frame) => {
        const pub = encodePublish(topic, frame);
        const d = decodeInbound(pub);
        expect(d).toMatchObject({ kind: 'publish', topic, frameStart: 2 + topic.length, frameBytes: frame.length });
        expect(pub.subarray(2 + topic.length)).toEqual(frame);
        expect(decodeInbound(encodeSubscribe(topic))).toEqual({ kind: 'subscribe', topic, since: undefined });
        expect(decodeInbound(encodeUnsubscribe(topic))).toEqual({ kind: 'unsubscribe', topic });
      }),
    );
  });

  it('SUBSCRIBE from a position: the relay reads back the epoch and offset the client kept', () => {
    fc.assert(
      fc.property(topicArb, epochArb, offsetArb, (topic, epoch, offset) => {
        expect(decodeInbound(encodeSubscribe(topic, positionBytes(epoch, offset)))).toEqual({ kind: 'subscribe', topic, since: { epoch, offset } });
      }),
    );
  });

  it('decodes what the relay encodes: DELIVER byte-exact (a copy), SUBSCRIBED, ERROR, ACK, NACK', () => {
    fc.assert(
      fc.property(topicArb, fc.uint8Array({ maxLength: MAX }), fc.integer({ min: 1, max: 7 }), fc.string({ maxLength: 100 }), epochArb, offsetArb, fc.boolean(), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (topic, frame, code, reason, epoch, offset, recovered, seq) => {
        const message = new Uint8Array(encodeDeliver(topic, epoch, offset, frame));
        const d = decodeRelayMessage(message, MAX);
        const position = positionBytes(epoch, offset);
        expect(d).toEqual({ ok: true, message: { op: 'deliver', topic, position, frame } });
        if (d.ok && d.message.op === 'deliver' && frame.length > 0) {
          message[message.length - 1] = message[message.length - 1]! ^ 1; // the decoded frame does not alias the message buffer
          expect(d.message.frame).toEqual(frame);
        }
        expect(decodeRelayMessage(new Uint8Array(encodeSubscribed(topic, epoch, offset, recovered)), MAX)).toEqual({ ok: true, message: { op: 'subscribed', topic, head: position, recovered } });
        expect(decodeRelayMessage(new Uint8Array(encodeAck(seq)), MAX)).toEqual({ ok: true, message: { op: 'ack', seq } });
        expect(decodeRelayMessage(new Uint8Array(encodeNack(seq, code)), MAX)).toMatchObject({ ok: true, message: { op: 'nack', seq, code } });
        const err = decodeRelayMessage(new Uint8Array(encodeError(code, topic, reason)), MAX);
        expect(err).toMatchObject({ ok: true, message: { op: 'error', code, topic } });
      }),
    );
  });

  it('decodes the LIMITS the relay encodes (§3.5): rates in thousandths per second', () => {
    const rate = fc.record({ perSecond: fc.integer({ min: 1, max: 2 ** 32 - 1 }).map((m) => m / 1000), burst: fc.integer({ min: 1, max: 2 ** 32 - 1 }) });
    fc.assert(
      fc.property(rate, rate, fc.integer({ min: 1, max: 2 ** 32 - 1 }), (publish, subscribe, maxFrameBytes) => {
        expect(decodeRelayMessage(encodeLimits({ publish, subscribe, maxFrameBytes }), MAX)).toEqual({ ok: true, message: { op: 'limits', publish, subscribe, maxFrameBytes } });
      }),
    );
  });

  it('never throws on arbitrary bytes, and accepts only well-formed messages', () => {
    // Mostly the relay's opcodes with plausible lengths, so the checks past byte 0 are exercised too.
    const opcode = fc.constantFrom(Op.deliver, Op.subscribed, Op.error, Op.ack, Op.nack, Op.limits, 0x00, 0x01, 0x03, 0xff);
    const message = fc.tuple(opcode, fc.integer({ min: 0, max: 70 }), fc.uint8Array({ maxLength: 300 })).map(([op, len, rest]) => new Uint8Array([op, len, ...rest]));
    fc.assert(
      fc.property(fc.oneof(message, fc.uint8Array({ maxLength: 300 })), (bytes) => {
        const d = decodeRelayMessage(bytes, 128);
        if (!d.ok) return void expect(typeof d.reason).toBe('string');
        const m = d.message;
        if (m.op === 'ack' || m.op === 'nack') return void expect(bytes.length).toBe(m.op === 'ack' ? 5 : 7);
        if (m.op === 'limits') {
          expect(bytes.length).toBe(LIMITS_BYTES);
          return void expect(Math.min(m.publish.perSecond, m.publish.burst, m.subscribe.perSecond, m.subscribe.burst, m.maxFrameBytes)).toBeGreaterThan(0);
        }
        expect(isValidTopic(m.topic) || (m.op === 'error' && m.topic === '')).toBe(true);
        if (m.op === 'deliver') expect(m.frame.length).toBeLessThanOrEqual(128);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects what a strict decoder must: opcodes, charset, lengths, size, bad UTF-8', () => {
    const cases: [string, number[]][] = [
      ['empty', []],
      ['unknown opcode', [0x16, 0x41]],
      ['LIMITS too short', [Op.limits, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]],
      ['LIMITS too long', [Op.limits, ...new Array<number>(21).fill(1)]],
      ['LIMITS with a zero burst', [Op.limits, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]],
      ['ACK too short', [Op.ack, 0, 0, 1]],
      ['NACK too long', [Op.nack, 0, 0, 0, 1, 0, 7, 0]],
      ['DELIVER without a position', [Op.deliver, 1, 0x41, 1, 2, 3]],
      ['SUBSCRIBED without its head', [Op.subscribed, 1, 0x41, 0]],
      ['client opcode', [Op.publish, 1, 0x41, 0]],
      ['SUBSCRIBED without topic', [Op.subscribed]],
      ['SUBSCRIBED with "/"', [Op.subscribed, 0x41, 0x2f]],
      ['DELIVER topic length 0', [Op.deliver, 0, 1, 2]],
      ['DELIVER topic past the end', [Op.deliver, 5, 0x41]],
      ['DELIVER topic length 65', [Op.deliver, 65, ...new Array<number>(70).fill(0x41)]],
      ['DELIVER with a space in the topic', [Op.deliver, 2, 0x41, 0x20, 9]],
      ['ERROR too short', [Op.error, 0, 1]],
      ['ERROR reason not UTF-8', [Op.error, 0, 1, 1, 0x41, 0xff, 0xfe]],
    ];
    for (const [what, bytes] of cases) expect(decodeRelayMessage(new Uint8Array(bytes), MAX).ok, what).toBe(false);
    const oversize = new Uint8Array(2 + 1 + 24 + MAX + 1);
    oversize.set([Op.deliver, 1, 0x41]);
    expect(decodeRelayMessage(oversize, MAX)).toMatchObject({ ok: false });
    expect(decodeRelayMessage(oversize.subarray(0, oversize.length - 1), MAX)).toMatchObject({ ok: true });
  });
});

describe('backoff', () => {
  it('stays within [cap/2, cap], cap = min(max, min * 2^attempt)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, min, extra, r) => {
        const max = min + extra;
        const cap = Math.min(max, min * 2 ** attempt);
        const d = backoffDelay(attempt, { minDelayMs: min, maxDelayMs: max, random: () => r });
        expect(d).toBeGreaterThanOrEqual(Math.floor(cap / 2));
        expect(d).toBeLessThanOrEqual(Math.ceil(cap));
      }),
    );
  });
});

describe('send queue', () => {
  it('holds sent frames until acknowledged, returns a refused one, and puts unacknowledged ones back in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(), (frames, ackAt, nackAt) => {
        const q = new SendQueue(100, 10_000);
        frames.forEach((f, i) => q.sent(i + 1, 't', f));
        const ack = ackAt % (frames.length + 1);
        q.acknowledge(ack);
        expect(q.unacknowledged).toBe(frames.length - ack);
        const nack = nackAt % frames.length;
        const refused = q.refused(nack + 1);
        if (nack + 1 <= ack) expect(refused).toBeUndefined();
        else expect(refused?.frame).toEqual(frames[nack]);
        q.requeueUnacknowledged();
        const out: Uint8Array[] = [];
        for (let item = q.shift(); item; item = q.shift()) out.push(item.frame);
        expect(out).toEqual(frames.filter((_, i) => i + 1 > ack && i !== nack));
        expect(q.bytes).toBe(0);
      }),
    );
  });

  it('frames refused in a row (retryable NACKs) and then the unacknowledged ones are sent again in publish order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), fc.nat(), (n, refusedMask, waitingCount) => {
        const q = new SendQueue(1000, 100_000);
        const frames = Array.from({ length: n }, (_, i) => Uint8Array.of(i));
        frames.forEach((f, i) => q.sent(i + 1, 't', f));
        const later = Array.from({ length: waitingCount % 5 }, (_, i) => Uint8Array.of(100 + i));
        for (const f of later) q.push('t', f); // published while the earlier ones were in flight
        for (let seq = 1; seq <= n; seq++) {
          if (!refusedMask[seq - 1]) continue;
          const item = q.refused(seq);
          expect(item).toBeDefined();
          q.putBack(item!); // NACKs arrive in sequence order, each refused frame is put back
        }
        q.requeueUnacknowledged(); // then the socket is lost
        const out: number[] = [];
        for (let item = q.shift(); item; item = q.shift()) out.push(item.frame[0]!);
        expect(out).toEqual([...frames, ...later].map((f) => f[0]!));
        expect(q.bytes).toBe(0);
      }),
    );
  });

  it('is bounded in frames and bytes (E_QUEUE_FULL), FIFO, and copies frames', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 500 }), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 40 }), (maxFrames, maxBytes, frames) => {
        const q = new SendQueue(maxFrames, maxBytes);
        const accepted: Uint8Array[] = [];
        for (const f of frames) {
          const fits = q.length < maxFrames && q.bytes + f.length <= maxBytes;
          try {
            q.push('t', f);
            expect(fits).toBe(true);
            accepted.push(f.slice());
            f.fill(7); // the queue kept its own copy
          } catch (e) {
            expect(fits).toBe(false);
            expect(isSealsigError(e, 'E_QUEUE_FULL')).toBe(true);
          }
          expect(q.length).toBeLessThanOrEqual(maxFrames);
          expect(q.bytes).toBeLessThanOrEqual(maxBytes);
        }
        const out: Uint8Array[] = [];
        for (let item = q.shift(); item; item = q.shift()) out.push(item.frame);
        expect(out).toEqual(accepted);
        expect(q.bytes).toBe(0);
      }),
    );
  });
});
