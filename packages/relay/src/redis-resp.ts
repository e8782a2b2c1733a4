/**
 * RESP2, the Redis protocol (https://redis.io/docs/latest/develop/reference/protocol-spec/), as far as the
 * sharded subscriber connections need it (redis-shard-subscriber.ts): commands go out as arrays of bulk
 * strings; replies come in as simple strings, errors, integers, bulk strings (null too) and arrays. The reader
 * checks every length against its bounds before it allocates and throws RespError on anything malformed.
 */

/** An error reply (`-MOVED 3999 127.0.0.1:6381`, `-NOAUTH ...`). */
export class ReplyError {
  constructor(readonly message: string) {}
}

export type Reply = string | number | Buffer | null | ReplyError | Reply[];

/** The connection sent something that is not RESP2, or beyond the bounds. */
export class RespError extends Error {
  override readonly name = 'RespError';
}

/** A bulk string (a notification: a batch of at most 256 KiB plus one frame, redis-appender.ts) at most. */
export const MAX_BULK = 64 * 1024 * 1024;
/** Elements of one array at most (subscriber pushes have 3). */
const MAX_ARRAY = 1024;
/** Nesting of arrays at most. */
const MAX_DEPTH = 4;
/** A line (a simple string, an error, a length) at most. */
const MAX_LINE = 64 * 1024;

const CRLF = Buffer.from('\r\n');

/** `args` as a RESP2 command: an array of bulk strings. */
export function encodeCommand(args: (string | Buffer)[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => bulk(typeof a === 'string' ? Buffer.from(a) : a))]);
}

/** A RESP bulk string. */
export function bulk(value: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`$${value.length}\r\n`, 'latin1'), value, CRLF]);
}

/** Incomplete input: wait for more bytes. */
const MORE = Symbol('more');

/** Bytes copied at least when completing a reply cut at a chunk's end whose length is not known yet. */
const MIN_TAKE = 256;
const EMPTY = Buffer.alloc(0);

/**
 * Reads replies from a byte stream, chunk by chunk. Replies are views of the chunks (no copy), except one cut
 * at a chunk's end: it is completed by copying only the bytes it lacks from the next chunk (not that whole chunk).
 */
export class RespReader {
  /** The start of a reply cut at the previous chunk's end (a copy). */
  private rest: Buffer = EMPTY;
  /** Bytes of the buffer last parsed that the reply at its end needs at least (0: unknown). */
  private need = 0;
  /** The offset after the reply parse() returned last. */
  private next = 0;

  /** Calls `each` for every complete reply in the bytes so far; keeps the incomplete rest. Throws RespError. */
  push(chunk: Buffer, each: (reply: Reply) => void): void {
    let at = 0; // bytes of `chunk` consumed
    while (this.rest.length > 0) {
      if (at === chunk.length) return;
      const take = Math.min(chunk.length - at, Math.max(this.need - this.rest.length, this.rest.length, MIN_TAKE));
      this.rest = Buffer.concat([this.rest, chunk.subarray(at, at + take)]);
      at += take;
      const r = this.parse(this.rest, 0, 0);
      if (r === MORE) {
        if (this.rest.length > MAX_BULK + MAX_LINE) throw new RespError('reply too large');
        continue;
      }
      at -= this.rest.length - this.next; // bytes copied beyond the reply: read them from the chunk
      this.rest = EMPTY;
      each(r);
    }
    while (at < chunk.length) {
      const r = this.parse(chunk, at, 0);
      if (r === MORE) {
        this.need -= at;
        this.rest = chunk.subarray(at);
        return;
      }
      at = this.next;
      each(r);
    }
  }

  /**
   * The reply at `at` in `b` (then `next` is the offset after it), or MORE (`need` set to the bytes of `b` it
   * needs at least, or 0). Lines are scanned and lengths read from the bytes (no string but for +/- lines).
   */
  private parse(b: Buffer, at: number, depth: number): Reply | typeof MORE {
    this.need = 0;
    const end = lineEnd(b, at);
    if (end < 0) return MORE;
    const next = end + 2;
    this.next = next;
    switch (b[at]) {
      case 0x2b: // +
        return b.toString('latin1', at + 1, end);
      case 0x2d: // -
        return new ReplyError(b.toString('latin1', at + 1, end));
      case 0x3a: // :
        return integer(b, at + 1, end, -Number.MAX_SAFE_INTEGER);
      case 0x24: {
        // $
        const n = integer(b, at + 1, end, -1);
        if (n === -1) return null;
        if (n > MAX_BULK) throw new RespError('bulk string too long');
        if (b.length < next + n + 2) {
          this.need = next + n + 2;
          return MORE;
        }
        if (b[next + n] !== 0x0d || b[next + n + 1] !== 0x0a) throw new RespError('bulk string without CRLF');
        this.next = next + n + 2;
        return b.subarray(next, next + n); // a view: chunks are never written to
      }
      case 0x2a: {
        // *
        const n = integer(b, at + 1, end, -1);
        if (n === -1) return null;
        if (n > MAX_ARRAY || depth >= MAX_DEPTH) throw new RespError('array too long or too deep');
        const items: Reply[] = [];
        let p = next;
        for (let i = 0; i < n; i++) {
          const r = this.parse(b, p, depth + 1);
          if (r === MORE) return MORE;
          items.push(r);
          p = this.next;
        }
        this.next = p;
        return items;
      }
      default:
        throw new RespError(`unexpected type byte ${b[at]}`);
    }
  }
}

/** Where the line starting at `at` ends (its CR, followed by LF), -1 when `b` ends first; RespError past MAX_LINE or on a lone CR. */
function lineEnd(b: Buffer, at: number): number {
  const stop = Math.min(b.length, at + MAX_LINE + 1);
  for (let i = at; i < stop; i++) {
    if (b[i] !== 0x0d) continue;
    if (i + 1 === b.length) return -1;
    if (b[i + 1] !== 0x0a) throw new RespError('CR without LF');
    return i;
  }
  if (stop < b.length) throw new RespError('line too long');
  return -1;
}

/** The integer in bytes [start, end) of `b`: an optional minus and 1 - 16 digits, at least `min`; RespError otherwise. */
function integer(b: Buffer, start: number, end: number, min: number): number {
  const negative = b[start] === 0x2d;
  const from = negative ? start + 1 : start;
  if (end <= from || end - from > 16) throw new RespError('bad integer');
  let n = 0;
  for (let i = from; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) throw new RespError('bad integer');
    n = n * 10 + d;
  }
  if (negative) n = -n;
  if (!Number.isSafeInteger(n) || n < min) throw new RespError('bad integer');
  return n;
}
