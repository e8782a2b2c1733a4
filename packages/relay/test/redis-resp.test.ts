/** The RESP2 reader of the sharded subscriber connections (src/redis-resp.ts): any chunking, bounds, bad input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BULK, ReplyError, RespError, RespReader, encodeCommand, type Reply } from '../src/redis-resp.js';

/** A reply as Redis would send it. */
function encode(r: Reply): Buffer {
  if (r === null) return Buffer.from('$-1\r\n');
  if (typeof r === 'number') return Buffer.from(`:${r}\r\n`);
  if (typeof r === 'string') return Buffer.from(`+${r}\r\n`);
  if (r instanceof ReplyError) return Buffer.from(`-${r.message}\r\n`);
  if (Buffer.isBuffer(r)) return Buffer.concat([Buffer.from(`$${r.length}\r\n`), r, Buffer.from('\r\n')]);
  return Buffer.concat([Buffer.from(`*${r.length}\r\n`), ...r.map(encode)]);
}

const line = fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
const leaf: fc.Arbitrary<Reply> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  line,
  line.map((m) => new ReplyError(m)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);
const reply: fc.Arbitrary<Reply> = fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.array(fc.array(leaf, { maxLength: 3 }), { maxLength: 3 }));

function readAll(chunks: Buffer[]): Reply[] {
  const reader = new RespReader();
  const out: Reply[] = [];
  for (const c of chunks) reader.push(c, (r) => out.push(r));
  return out;
}

describe('RESP2 reader', () => {
  it('property: any replies, cut into any chunks, read back in order', () => {
    fc.assert(
      fc.property(fc.array(reply, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (replies, cuts) => {
        const bytes = Buffer.concat(replies.map(encode));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, bytes.length].slice(1).map((end, i, all) => bytes.subarray(i === 0 ? 0 : all[i - 1]!, end));
        expect(readAll(chunks)).toEqual(replies);
      }),
    );
  });

  it('refuses what is not RESP2, and lengths beyond its bounds before reading them (RespError, no crash)', () => {
    for (const bad of ['?x\r\n', '+a\rb\r\n', ':12a\r\n', ':-\r\n', ':12345678901234567\r\n', `$${MAX_BULK + 1}\r\n`, '*1025\r\n', '$3\r\nabcXY', '*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n']) {
      expect(() => readAll([Buffer.from(bad)])).toThrow(RespError);
    }
    expect(() => readAll([Buffer.alloc(70 * 1024, 0x2b)])).toThrow(RespError); // a line without an end
  });

  it('encodes commands as arrays of bulk strings', () => {
    expect(encodeCommand(['SSUBSCRIBE', 'n:{t}']).toString()).toBe('*2\r\n$10\r\nSSUBSCRIBE\r\n$5\r\nn:{t}\r\n');
  });
});
