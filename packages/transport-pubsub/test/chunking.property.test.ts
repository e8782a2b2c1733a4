/**
 * Chunking and reassembly (src/wire.ts, src/reassembly.ts) under arbitrary sizes, loss, duplication,
 * reordering and hostile chunk headers: frames arrive byte-exact exactly once, incomplete frames time
 * out and free their memory, and no input makes the buffers exceed their bounds or throw anything but a
 * typed SealsigError.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSealsigError } from '@sealsig/core';
import type { SealsigError } from '@sealsig/core';
import { CHUNK_HEADER_BYTES, Reassembler, decodeMessage, encodeMessages } from '../src/index.js';
import type { ReassemblyLimits, WireLimits } from '../src/index.js';

const wire: WireLimits = { maxFrameBytes: 64 * 1024, maxChunks: 4096 };
const limits: ReassemblyLimits = { maxPending: 8, maxPendingBytes: 256 * 1024, timeoutMs: 1000 };
const newId = () => crypto.getRandomValues(new Uint8Array(8));

/** Feeds messages through decode + reassembly; returns completed frames and typed errors. */
function feed(r: Reassembler, messages: Uint8Array[], scope = 't'): { frames: Uint8Array[]; errors: SealsigError[] } {
  const frames: Uint8Array[] = [];
  const errors: SealsigError[] = [];
  for (const m of messages) {
    try {
      const d = decodeMessage(m, wire);
      if (d.kind === 'whole') frames.push(d.frame);
      else {
        const res = r.add(scope, d.chunk);
        if (res.status === 'complete') frames.push(res.frame);
        else if (res.status === 'dropped') errors.push(res.error);
      }
    } catch (e) {
      if (!isSealsigError(e)) throw e;
      errors.push(e);
    }
  }
  return { frames, errors };
}

/** A chunk message with arbitrary header fields. */
function rawChunk(id: Uint8Array, index: number, count: number, total: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
  const view = new DataView(out.buffer);
  out[0] = 1;
  out.set(id, 1);
  view.setUint16(9, index);
  view.setUint16(11, count);
  view.setUint32(13, total);
  out.set(data, CHUNK_HEADER_BYTES);
  return out;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('chunking and reassembly', () => {
  it('delivers every frame byte-exact exactly once, whatever the sizes, order and duplicates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.integer({ min: CHUNK_HEADER_BYTES + 8, max: 4096 }), // at most 2500 chunks: within maxChunks
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frame, capacity, order, dups) => {
          const messages = encodeMessages(frame, capacity, newId);
          for (const m of messages) expect(m.length).toBeLessThanOrEqual(capacity);
          // Shuffle deterministically from `order`, then duplicate some (also after completion).
          const shuffled = [...messages];
          order.forEach((k, i) => {
            const a = i % shuffled.length;
            const b = k % shuffled.length;
            [shuffled[a], shuffled[b]] = [shuffled[b]!, shuffled[a]!];
          });
          for (const k of dups) shuffled.push(messages[k % messages.length]!);
          const r = new Reassembler(limits);
          const { frames, errors } = feed(r, shuffled);
          const expected = messages.length === 1 ? 1 + dups.length : 1; // whole frames are not deduplicated (core does that)
          expect(errors).toEqual([]);
          expect(frames.length).toBe(expected);
          for (const f of frames) expect(f).toEqual(frame);
          expect(r.pendingCount).toBe(0);
          expect(r.pendingBytes).toBe(0);
          r.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('frees an incomplete frame after the timeout (chunk loss)', () => {
    vi.useFakeTimers();
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 20_000 }), fc.nat(), (size, lost) => {
        const frame = crypto.getRandomValues(new Uint8Array(size));
        const messages = encodeMessages(frame, 100, newId);
        messages.splice(lost % messages.length, 1);
        const timeouts: SealsigError[] = [];
        const r = new Reassembler(limits, (e) => timeouts.push(e));
        const { frames, errors } = feed(r, messages);
        expect(frames).toEqual([]);
        expect(errors).toEqual([]);
        expect(r.pendingCount).toBe(1);
        expect(r.pendingBytes).toBe(size - lostBytes(size, lost, messages.length + 1));
        vi.advanceTimersByTime(limits.timeoutMs + 1);
        expect(r.pendingCount).toBe(0);
        expect(r.pendingBytes).toBe(0);
        expect(timeouts.map((e) => e.code)).toEqual(['E_STALE']);
        r.close();
      }),
      { numRuns: 50 },
    );
  });

  it('drops hostile chunk headers with typed errors and never exceeds its bounds', () => {
    const chunkArb = fc.record({
      id: fc.constantFrom(...[0, 1, 2, 3].map((i) => new Uint8Array(8).fill(i))),
      index: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffff })),
      count: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffff })),
      total: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffffffff })),
      data: fc.uint8Array({ minLength: 0, maxLength: 40 }),
    });
    const messageArb = fc.oneof(
      chunkArb.map((c) => rawChunk(c.id, c.index, c.count, c.total, c.data)),
      fc.uint8Array({ maxLength: 64 }), // arbitrary bytes, any kind byte
    );
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 200 }), (messages) => {
        const small: ReassemblyLimits = { maxPending: 3, maxPendingBytes: 100, timeoutMs: 1000 };
        const r = new Reassembler(small);
        for (const m of messages) {
          const { errors } = feed(r, [m]);
          for (const e of errors) expect(['E_FRAME_MALFORMED', 'E_FRAME_TOO_LARGE', 'E_QUEUE_FULL']).toContain(e.code);
          expect(r.pendingCount).toBeLessThanOrEqual(small.maxPending);
          expect(r.pendingBytes).toBeLessThanOrEqual(small.maxPendingBytes);
        }
        r.close();
        expect(r.pendingBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects huge counts, inconsistent totals, out-of-range indexes and overflowing chunks', () => {
    const id = new Uint8Array(8).fill(7);
    const data = new Uint8Array(10);
    const code = (m: Uint8Array, r = new Reassembler(limits)) => feed(r, [m]).errors.map((e) => e.code);
    expect(code(rawChunk(id, 0, 0xffff, 20, data))).toEqual(['E_FRAME_MALFORMED']); // more chunks than bytes
    expect(feed(new Reassembler(limits), [rawChunk(id, 0, 5000, 60_000, data)]).errors.map((e) => e.code)).toEqual(['E_FRAME_MALFORMED']); // over maxChunks (4096)
    expect(code(rawChunk(id, 3, 2, 20, data))).toEqual(['E_FRAME_MALFORMED']); // index out of range
    expect(code(rawChunk(id, 0, 2, 0xffffffff, data))).toEqual(['E_FRAME_TOO_LARGE']); // claims 4 GiB
    expect(code(rawChunk(id, 0, 0, 20, data))).toEqual(['E_FRAME_MALFORMED']); // zero chunks
    expect(code(rawChunk(id, 0, 2, 5, data))).toEqual(['E_FRAME_MALFORMED']); // chunk larger than the frame
    expect(code(rawChunk(id, 0, 1, 20, data))).toEqual(['E_FRAME_MALFORMED']); // single chunk not whole
    expect(code(new Uint8Array([1, 2, 3]))).toEqual(['E_FRAME_MALFORMED']); // truncated header
    expect(code(new Uint8Array([9, 1]))).toEqual(['E_FRAME_MALFORMED']); // unknown kind
    expect(code(new Uint8Array(0))).toEqual(['E_FRAME_MALFORMED']);

    const r = new Reassembler(limits);
    expect(feed(r, [rawChunk(id, 0, 3, 25, data)]).errors).toEqual([]);
    expect(code(rawChunk(id, 1, 4, 25, data), r)).toEqual(['E_FRAME_MALFORMED']); // count disagrees
    expect(code(rawChunk(id, 1, 3, 26, data), r)).toEqual(['E_FRAME_MALFORMED']); // total disagrees
    expect(code(rawChunk(id, 1, 3, 25, new Uint8Array(16)), r)).toEqual(['E_FRAME_MALFORMED']); // 10 + 16 > 25
    expect(r.pendingBytes).toBe(10);
    const done = feed(r, [rawChunk(id, 1, 3, 25, data), rawChunk(id, 2, 3, 25, new Uint8Array(5))]);
    expect(done.frames.map((f) => f.length)).toEqual([25]);
    expect(r.pendingBytes).toBe(0);
    r.close();
  });

  it('refuses new frames beyond maxPending and bytes beyond maxPendingBytes (E_QUEUE_FULL)', () => {
    const r = new Reassembler({ maxPending: 2, maxPendingBytes: 50, timeoutMs: 1000 });
    const chunk = (i: number, size: number) => rawChunk(new Uint8Array(8).fill(i), 0, 2, 2 * size, new Uint8Array(size));
    expect(feed(r, [chunk(1, 20), chunk(2, 20)]).errors).toEqual([]);
    expect(feed(r, [chunk(3, 5)]).errors.map((e) => e.code)).toEqual(['E_QUEUE_FULL']);
    expect(feed(r, [rawChunk(new Uint8Array(8).fill(1), 1, 2, 40, new Uint8Array(20))]).errors.map((e) => e.code)).toEqual(['E_QUEUE_FULL']); // 40 + 20 > 50
    expect(r.pendingCount).toBe(2);
    expect(r.pendingBytes).toBe(40);
    r.close();
    expect(r.pendingCount).toBe(0);
  });
});

/** Bytes of the chunk at `lost % count` of a frame of `size` in 100-byte messages. */
function lostBytes(size: number, lost: number, count: number): number {
  const per = 100 - CHUNK_HEADER_BYTES;
  const i = lost % count;
  return Math.min(size, (i + 1) * per) - i * per;
}
