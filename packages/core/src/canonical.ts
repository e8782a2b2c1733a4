/**
 * Canonical MessagePack for content (docs/PROTOCOL.md §5.1, §5.2): one encoder and one strict decoder,
 * written by hand so that each value has exactly one encoding and the decoder accepts exactly what the
 * encoder emits.
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
 *
 * The decoder checks every length against the bytes remaining before it reads or allocates, bounds
 * element counts by the bytes remaining and nesting by MAX_CONTENT_DEPTH, and accepts a byte string only
 * if it is exactly what the encoder writes for the value it decodes to; anything else is
 * E_FRAME_MALFORMED. It returns null for nil, numbers for integers and floats, strings, a fresh
 * Uint8Array (a copy, never a view into its input) for bin, arrays, plain objects for maps, Date for
 * timestamps.
 */
import { fail } from './errors.js';

/**
 * The deepest a value may sit: the content array is at depth 1, and each element of an array or value of a
 * map one deeper than its container. So an app payload (depth 2) may hold containers down to depth 31 whose
 * elements sit at depth 32.
 */
export const MAX_CONTENT_DEPTH = 32;

const TIMESTAMP32_MAX_SEC = 0xffffffff;
const TIMESTAMP64_MAX_SEC = 0x3ffffffff;
/** ECMAScript's time value range (ms): |t| <= 8.64e15. */
const MAX_TIME_MS = 8.64e15;
const NS_PER_MS = 1e6;

const invalid = (message: string) => fail('E_INVALID_ARGUMENT', message);
const malformed = (message: string) => fail('E_FRAME_MALFORMED', message);

/** Head size of a str of n bytes (fixstr, str 8/16/32). */
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

// --- encoding ---------------------------------------------------------------------------------------

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

  private array(a: unknown[], depth: number): void {
    const n = a.length;
    if (n < 16) this.byte(0x90 + n);
    else if (n < 0x10000) this.head(0xdc, 2, n);
    else this.head(0xdd, 4, n);
    for (let i = 0; i < n; i++) this.value(a[i], depth + 1);
  }

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

// --- decoding ---------------------------------------------------------------------------------------

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const KEY_CACHE_MAX_BYTES = 16;
const KEY_CACHE_SLOTS = 256;
const keyCacheBytes: (Uint8Array | undefined)[] = new Array(KEY_CACHE_SLOTS).fill(undefined);
const keyCacheStrings: (string | undefined)[] = new Array(KEY_CACHE_SLOTS).fill(undefined);

/** The array index (0 .. 2^32-2) k names, or -1: a JS object lists these keys first, in ascending order. */
function arrayIndex(k: string): number {
  const n = k.length;
  if (n === 0 || n > 10) return -1;
  const c0 = k.charCodeAt(0);
  if (c0 < 0x30 || c0 > 0x39 || (c0 === 0x30 && n > 1)) return -1;
  let v = c0 - 0x30;
  for (let i = 1; i < n; i++) {
    const d = k.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= 0xfffffffe ? v : -1;
}

class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) throw malformed('truncated content');
  }

  /** A length (or count) of n bytes at pos, then checks it is at least min (the shortest form). */
  private len(n: 1 | 2 | 4, min: number): number {
    this.need(n);
    const p = this.pos;
    const v = n === 1 ? this.buf[p]! : n === 2 ? this.view.getUint16(p) : this.view.getUint32(p);
    this.pos += n;
    if (v < min) throw malformed('non-canonical length');
    return v;
  }

  value(depth: number): unknown {
    if (depth > MAX_CONTENT_DEPTH) throw malformed(`content nested deeper than ${MAX_CONTENT_DEPTH} levels`);
    this.need(1);
    const b = this.buf[this.pos++]!;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b - 0x80, depth);
    if (b < 0xa0) return this.array(b - 0x90, depth);
    if (b < 0xc0) return this.str(b - 0xa0);
    const view = this.view;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.len(1, 0));
      case 0xc5:
        return this.bin(this.len(2, 0x100));
      case 0xc6:
        return this.bin(this.len(4, 0x10000));
      case 0xc7:
        return this.timestamp96();
      case 0xcb: {
        const p = this.fixed(8);
        const v = view.getFloat64(p);
        if (v !== v) {
          if (view.getUint32(p) !== 0x7ff80000 || view.getUint32(p + 4) !== 0) throw malformed('non-canonical NaN');
        } else if (Number.isSafeInteger(v)) throw malformed('a safe integer encoded as a float');
        return v;
      }
      case 0xcc:
        return this.int(this.buf[this.fixed(1)]!, 0x80, 0xff);
      case 0xcd:
        return this.int(view.getUint16(this.fixed(2)), 0x100, 0xffff);
      case 0xce:
        return this.int(view.getUint32(this.fixed(4)), 0x10000, 0xffffffff);
      case 0xcf: {
        const q = this.fixed(8);
        return this.int(view.getUint32(q) * 0x100000000 + view.getUint32(q + 4), 0x100000000, Number.MAX_SAFE_INTEGER);
      }
      case 0xd0:
        return this.int(view.getInt8(this.fixed(1)), -0x80, -0x21);
      case 0xd1:
        return this.int(view.getInt16(this.fixed(2)), -0x8000, -0x81);
      case 0xd2:
        return this.int(view.getInt32(this.fixed(4)), -0x80000000, -0x8001);
      case 0xd3: {
        const q = this.fixed(8);
        return this.int(view.getInt32(q) * 0x100000000 + view.getUint32(q + 4), -Number.MAX_SAFE_INTEGER, -0x80000001);
      }
      case 0xd6:
        return this.timestamp32();
      case 0xd7:
        return this.timestamp64();
      case 0xd9:
        return this.str(this.len(1, 32));
      case 0xda:
        return this.str(this.len(2, 0x100));
      case 0xdb:
        return this.str(this.len(4, 0x10000));
      case 0xdc:
        return this.array(this.len(2, 16), depth);
      case 0xdd:
        return this.array(this.len(4, 0x10000), depth);
      case 0xde:
        return this.map(this.len(2, 16), depth);
      case 0xdf:
        return this.map(this.len(4, 0x10000), depth);
      case 0xca:
        throw malformed('float 32 is not canonical');
      case 0xd4:
      case 0xd5:
      case 0xd8:
      case 0xc8:
      case 0xc9:
        throw malformed('unknown extension type');
      default: // 0xc1
        throw malformed('reserved type byte');
    }
  }

  /** Checks that n bytes remain and steps over them; returns where they start. */
  private fixed(n: number): number {
    this.need(n);
    const p = this.pos;
    this.pos += n;
    return p;
  }

  /**
   * An integer, canonical only within [min, max] (the range no shorter format covers). 64-bit values are
   * computed in doubles: a true value outside the safe range rounds to a double outside it too.
   */
  private int(v: number, min: number, max: number): number {
    if (!(v >= min && v <= max)) throw malformed('non-canonical or out-of-range integer');
    return v;
  }

  private str(n: number): string {
    this.need(n);
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    const buf = this.buf;
    if (n <= 24) {
      // ASCII fast path (map keys, short values): any other byte goes through the strict decoder.
      let s = '';
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c >= 0x80) return decodeUtf8(buf.subarray(start, end));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decodeUtf8(buf.subarray(start, end));
  }

  private bin(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private array(n: number, depth: number): unknown[] {
    if (n > this.remaining) throw malformed('array count exceeds the bytes remaining');
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number): Record<string, unknown> {
    if (n > this.remaining / 2) throw malformed('map count exceeds the bytes remaining');
    const out: Record<string, unknown> = {};
    let lastIndex = -1;
    let named = false;
    for (let i = 0; i < n; i++) {
      const key = this.key();
      const index = arrayIndex(key);
      if (index >= 0) {
        // A JS object lists array-index keys first, ascending: any other order re-encodes differently.
        if (named || index <= lastIndex) throw malformed('map keys out of canonical order, or duplicated');
        lastIndex = index;
      } else {
        if (key === '__proto__') throw malformed('map key __proto__');
        if (Object.hasOwn(out, key)) throw malformed('duplicate map key');
        named = true;
      }
      out[key] = this.value(depth + 1);
    }
    return out;
  }

  private key(): string {
    this.need(1);
    const b = this.buf[this.pos++]!;
    if (b >= 0xa0 && b < 0xc0) return b - 0xa0 <= KEY_CACHE_MAX_BYTES ? this.cachedKey(b - 0xa0) : this.str(b - 0xa0);
    if (b === 0xd9) return this.str(this.len(1, 32));
    if (b === 0xda) return this.str(this.len(2, 0x100));
    if (b === 0xdb) return this.str(this.len(4, 0x10000));
    throw malformed('map key is not a string');
  }

  /**
   * A short key through a small cache of decoded keys (signaling payloads reuse a handful): the same string
   * instance each time, which V8 stores as a property faster than a new one. A slot is only ever filled
   * with a key decoded strictly from exactly those bytes, so a hit returns what str() would.
   */
  private cachedKey(n: number): string {
    this.need(n);
    const buf = this.buf;
    const start = this.pos;
    let h = n;
    for (let i = start; i < start + n; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h >>> 0) & (KEY_CACHE_SLOTS - 1);
    const hit = keyCacheBytes[slot];
    if (hit !== undefined && hit.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (hit[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.pos += n;
        return keyCacheStrings[slot]!;
      }
    }
    const s = this.str(n);
    keyCacheBytes[slot] = buf.slice(start, start + n);
    keyCacheStrings[slot] = s;
    return s;
  }

  private extType(): void {
    if (this.buf[this.pos++] !== 0xff) throw malformed('unknown extension type');
  }

  /** fixext 4, type -1: seconds since the epoch, 0 .. 2^32-1. */
  private timestamp32(): Date {
    this.need(5);
    this.extType();
    const sec = this.view.getUint32(this.pos);
    this.pos += 4;
    return new Date(sec * 1000);
  }

  /** fixext 8, type -1: nsec (30 bits) then sec (34 bits); used when nsec > 0 or sec >= 2^32. */
  private timestamp64(): Date {
    this.need(9);
    this.extType();
    const hi = this.view.getUint32(this.pos);
    const sec = (hi & 3) * 0x100000000 + this.view.getUint32(this.pos + 4);
    const nsec = hi >>> 2;
    this.pos += 8;
    if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) throw malformed('non-canonical timestamp');
    return timestampDate(sec, nsec);
  }

  /** ext 8 of 12 bytes, type -1: nsec (u32) then sec (i64); used when sec < 0 or sec >= 2^34. */
  private timestamp96(): Date {
    this.need(2);
    if (this.buf[this.pos++] !== 12) throw malformed('unknown extension type');
    this.extType();
    this.need(12);
    const p = this.pos;
    const nsec = this.view.getUint32(p);
    const sec = this.view.getInt32(p + 4) * 0x100000000 + this.view.getUint32(p + 8);
    this.pos += 12;
    if (sec >= 0 && sec <= TIMESTAMP64_MAX_SEC) throw malformed('non-canonical timestamp');
    return timestampDate(sec, nsec);
  }
}

/** A timestamp's Date: only whole milliseconds, nsec < 10^9, within the Date range are canonical. */
function timestampDate(sec: number, nsec: number): Date {
  if (nsec % NS_PER_MS !== 0 || nsec >= 1e9) throw malformed('timestamp not in whole milliseconds');
  const ms = sec * 1000 + nsec / NS_PER_MS;
  if (!(Math.abs(ms) <= MAX_TIME_MS)) throw malformed('timestamp outside the Date range');
  return new Date(ms);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (e) {
    throw fail('E_FRAME_MALFORMED', 'str is not valid UTF-8', e);
  }
}

/**
 * Decodes exactly one canonical value (at depth 1) spanning all of bytes, or throws E_FRAME_MALFORMED.
 * Never returns a view into bytes.
 */
export function decodeCanonical(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = r.value(1);
  if (r.remaining !== 0) throw malformed('trailing bytes after the content');
  return v;
}
