/**
 * The canonical MessagePack encoder for content (docs/PROTOCOL.md §5.1 rules 1-8, Depth and This
 * implementation; §5.2 the timestamp), written by hand so that each value has exactly one encoding; its
 * strict decoder, which accepts exactly what this encoder emits, is canonical-decode.ts.
 *
 * The encoder writes what @msgpack/msgpack's Encoder (ignoreUndefined: false) writes for every value that one
 * encodes deterministically: the shortest integer, str, bin, array and map heads, float 64 for every number
 * that is not a safe integer, keys in Object.keys order, Date as the timestamp extension (type -1) in its
 * shortest form. Where that Encoder has no single answer we chose one and refuse what cannot be sent:
 * - NaN is always 0xcb 7ff8000000000000 (the Encoder copies the NaN's bits, and V8's arithmetic NaN is
 *   0xfff8000000000000 while the literal is 0x7ff8000000000000);
 * - a string with a lone surrogate is E_INVALID_ARGUMENT (UTF-8 cannot carry one; the Encoder writes it as
 *   invalid UTF-8 in strings up to 50 code units and as U+FFFD in longer ones);
 * - an invalid Date is E_INVALID_ARGUMENT (the Encoder writes it as 1970-01-01);
 * - an own key `__proto__` is E_INVALID_ARGUMENT (every decoder refuses it);
 * - a value nested deeper than MAX_CONTENT_DEPTH is E_INVALID_ARGUMENT (the decoder's bound);
 * - an ExtData instance is an ordinary object (no other extension type is ever sent).
 */
import { MAX_CONTENT_DEPTH, NS_PER_MS, TIMESTAMP32_MAX_SEC, TIMESTAMP64_MAX_SEC } from './canonical-limits.js';
import { fail } from './errors.js';

const invalid = (message: string) => fail('E_INVALID_ARGUMENT', message);

/** §5.1 rule 4: the head size of a str of n bytes (fixstr, str 8/16/32). */
const strHeadSize = (n: number) => (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);

type IsWellFormed = (this: string) => boolean;
const nativeIsWellFormed = (String.prototype as { isWellFormed?: IsWellFormed }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** True if s has no lone surrogate (String.prototype.isWellFormed where the runtime has it). */
export const isWellFormed: (s: string) => boolean =
  typeof nativeIsWellFormed === 'function' ? (s) => nativeIsWellFormed.call(s) : (s) => !LONE_SURROGATE.test(s);

/** Strings up to this many UTF-16 code units are encoded by a JS loop, longer ones by TextEncoder. */
const JS_ENCODE_MAX = 48;
const textEncoder = new TextEncoder();

class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  busy = false;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Encodes v at depth 1; returns a view into this writer's buffer, valid until its next use. */
  encode(v: unknown): Uint8Array {
    this.busy = true;
    try {
      this.pos = 0;
      this.value(v, 1);
      return this.buf.subarray(0, this.pos);
    } finally {
      this.busy = false;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * (this.pos + n), 2 * this.buf.length));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A head byte followed by an n-byte big-endian unsigned length (n = 0, 1, 2 or 4). */
  private head(b: number, n: number, len: number): void {
    this.ensure(1 + n);
    this.buf[this.pos] = b;
    if (n === 1) this.buf[this.pos + 1] = len;
    else if (n === 2) this.view.setUint16(this.pos + 1, len);
    else if (n === 4) this.view.setUint32(this.pos + 1, len);
    this.pos += 1 + n;
  }

  /** §5.1 This implementation: v by its JS type, at depth (§5.1 Depth: refused above MAX_CONTENT_DEPTH). */
  private value(v: unknown, depth: number): void {
    if (depth > MAX_CONTENT_DEPTH) throw invalid(`value nested deeper than ${MAX_CONTENT_DEPTH} levels`);
    if (v === null || v === undefined) return this.byte(0xc0);
    switch (typeof v) {
      case 'boolean':
        return this.byte(v ? 0xc3 : 0xc2);
      case 'number':
        return this.number(v);
      case 'string':
        return this.str(v);
      case 'object':
        if (Array.isArray(v)) return this.array(v, depth);
        if (ArrayBuffer.isView(v)) return this.bin(v);
        if (v instanceof Date) return this.date(v);
        return this.map(v as Record<string, unknown>, depth);
      default:
        throw invalid(`a ${typeof v} cannot be encoded as msgpack`);
    }
  }

  /** §5.1 rule 2 (a safe integer, in the first format that holds it) or rule 3 (float 64, the one NaN). */
  private number(n: number): void {
    this.ensure(9);
    const { buf, view } = this;
    let p = this.pos;
    if (Number.isSafeInteger(n)) {
      if (n >= 0) {
        if (n < 0x80) buf[p++] = n;
        else if (n < 0x100) (buf[p++] = 0xcc), (buf[p++] = n);
        else if (n < 0x10000) (buf[p] = 0xcd), view.setUint16(p + 1, n), (p += 3);
        else if (n < 0x100000000) (buf[p] = 0xce), view.setUint32(p + 1, n), (p += 5);
        else (buf[p] = 0xcf), view.setUint32(p + 1, Math.floor(n / 0x100000000)), view.setUint32(p + 5, n >>> 0), (p += 9);
      } else {
        if (n >= -0x20) buf[p++] = n + 0x100;
        else if (n >= -0x80) (buf[p++] = 0xd0), (buf[p++] = n + 0x100);
        else if (n >= -0x8000) (buf[p] = 0xd1), view.setInt16(p + 1, n), (p += 3);
        else if (n >= -0x80000000) (buf[p] = 0xd2), view.setInt32(p + 1, n), (p += 5);
        else (buf[p] = 0xd3), view.setInt32(p + 1, Math.floor(n / 0x100000000)), view.setUint32(p + 5, n >>> 0), (p += 9);
      }
    } else {
      buf[p] = 0xcb;
      if (n !== n) view.setUint32(p + 1, 0x7ff80000), view.setUint32(p + 5, 0); // the one NaN
      else view.setFloat64(p + 1, n);
      p += 9;
    }
    this.pos = p;
  }

  /** §5.1 rule 4: s as UTF-8 after its shortest head; a lone surrogate is refused. */
  private str(s: string): void {
    const units = s.length;
    const maxBytes = units * 3;
    const reserved = strHeadSize(maxBytes);
    this.ensure(reserved + maxBytes);
    const start = this.pos + reserved;
    let end: number;
    if (units <= JS_ENCODE_MAX) end = this.utf8Js(s, start);
    else if (!isWellFormed(s)) throw invalid('a string with a lone surrogate cannot be encoded as UTF-8');
    else end = start + textEncoder.encodeInto(s, this.buf.subarray(start)).written;
    const n = end - start;
    const h = strHeadSize(n);
    if (h !== reserved) this.buf.copyWithin(this.pos + h, start, end);
    if (h === 1) this.buf[this.pos] = 0xa0 + n;
    else if (h === 2) (this.buf[this.pos] = 0xd9), (this.buf[this.pos + 1] = n);
    else if (h === 3) (this.buf[this.pos] = 0xda), this.view.setUint16(this.pos + 1, n);
    else (this.buf[this.pos] = 0xdb), this.view.setUint32(this.pos + 1, n);
    this.pos += h + n;
  }

  /** Writes s as UTF-8 at p (room for 3 bytes per code unit is ensured); returns the end. */
  private utf8Js(s: string, p: number): number {
    const buf = this.buf;
    const units = s.length;
    for (let i = 0; i < units; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      } else {
        const d = i + 1 < units ? s.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) throw invalid('a string with a lone surrogate cannot be encoded as UTF-8');
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[p++] = 0xf0 | (c >> 18);
        buf[p++] = 0x80 | ((c >> 12) & 0x3f);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
      }
    }
    return p;
  }

  /** §5.1 rule 5: the bytes of a typed array or DataView after the shortest bin head. */
  private bin(v: ArrayBufferView): void {
    const bytes = v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const n = bytes.length;
    if (n < 0x100) this.head(0xc4, 1, n);
    else if (n < 0x10000) this.head(0xc5, 2, n);
    else if (n <= 0xffffffff) this.head(0xc6, 4, n);
    else throw invalid('bin too large');
    this.ensure(n);
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /** §5.1 rule 6: the shortest array head, then the elements one level deeper. */
  private array(a: unknown[], depth: number): void {
    const n = a.length;
    if (n < 16) this.byte(0x90 + n);
    else if (n < 0x10000) this.head(0xdc, 2, n);
    else this.head(0xdd, 4, n);
    for (let i = 0; i < n; i++) this.value(a[i], depth + 1);
  }

  /** §5.1 rule 7: the shortest map head, then own keys in Object.keys order (never __proto__) and their values. */
  private map(o: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(o);
    const n = keys.length;
    if (n < 16) this.byte(0x80 + n);
    else if (n < 0x10000) this.head(0xde, 2, n);
    else this.head(0xdf, 4, n);
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      if (k === '__proto__') throw invalid('the key __proto__ cannot be sent');
      this.str(k);
      this.value(o[k], depth + 1);
    }
  }

  /** §5.2 The timestamp extension (type -1), in the shortest of its three forms. */
  private date(d: Date): void {
    const ms = d.getTime();
    if (Number.isNaN(ms)) throw invalid('an invalid Date cannot be sent');
    const sec = Math.floor(ms / 1000);
    const nsec = (ms - sec * 1000) * NS_PER_MS;
    this.ensure(15);
    const { buf, view } = this;
    const p = this.pos;
    if (sec >= 0 && sec <= TIMESTAMP64_MAX_SEC) {
      if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) {
        (buf[p] = 0xd6), (buf[p + 1] = 0xff), view.setUint32(p + 2, sec);
        this.pos += 6;
      } else {
        (buf[p] = 0xd7), (buf[p + 1] = 0xff);
        view.setUint32(p + 2, nsec * 4 + Math.floor(sec / 0x100000000));
        view.setUint32(p + 6, sec >>> 0);
        this.pos += 10;
      }
    } else {
      (buf[p] = 0xc7), (buf[p + 1] = 12), (buf[p + 2] = 0xff);
      view.setUint32(p + 3, nsec);
      view.setInt32(p + 7, Math.floor(sec / 0x100000000));
      view.setUint32(p + 11, sec >>> 0);
      this.pos += 15;
    }
  }
}

const shared = new Writer(2048);

/**
 * The canonical encoding of v (v is at depth 1). Returns a view into a shared buffer: copy it before the
 * next call. Values that have no encoding are E_INVALID_ARGUMENT.
 */
export function encodeCanonical(v: unknown): Uint8Array {
  // A getter of v that encodes something itself gets its own writer.
  return (shared.busy ? new Writer(256) : shared).encode(v);
}
