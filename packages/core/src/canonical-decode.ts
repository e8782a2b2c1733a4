/**
 * The strict canonical MessagePack decoder for content (docs/PROTOCOL.md §5.1 rules 1-8, Content, Depth and
 * Lengths; §5.2 the timestamp): it accepts exactly what the encoder (canonical-encode.ts) emits, one
 * encoding per value.
 *
 * The decoder checks every length against the bytes remaining before it reads or allocates, bounds
 * element counts by the bytes remaining and nesting by MAX_CONTENT_DEPTH, and accepts a byte string only
 * if it is exactly what the encoder writes for the value it decodes to; anything else is
 * E_FRAME_MALFORMED. It returns null for nil, numbers for integers and floats, strings, a fresh
 * Uint8Array (a copy, never a view into its input) for bin, arrays, plain objects for maps, Date for
 * timestamps.
 */
import { MAX_CONTENT_DEPTH, NS_PER_MS, TIMESTAMP32_MAX_SEC, TIMESTAMP64_MAX_SEC } from './canonical-limits.js';
import { fail } from './errors.js';

const malformed = (message: string) => fail('E_FRAME_MALFORMED', message);

/** ECMAScript's time value range (ms): |t| <= 8.64e15. */
const MAX_TIME_MS = 8.64e15;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const KEY_CACHE_MAX_BYTES = 16;
const KEY_CACHE_SLOTS = 256;
const keyCacheBytes: (Uint8Array | undefined)[] = new Array(KEY_CACHE_SLOTS).fill(undefined);
const keyCacheStrings: (string | undefined)[] = new Array(KEY_CACHE_SLOTS).fill(undefined);

/**
 * §5.1 rule 7: the array index (0 .. 2^32-2) k names, or -1: a JS object lists these keys first, in
 * ascending order.
 */
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

  /** §5.1 Lengths: n bytes must remain before they are read. */
  private need(n: number): void {
    if (n > this.buf.length - this.pos) throw malformed('truncated content');
  }

  /** §5.1 rules 4-7: a length (or count) of n bytes at pos, then checks it is at least min (the shortest form). */
  private len(n: 1 | 2 | 4, min: number): number {
    this.need(n);
    const p = this.pos;
    const v = n === 1 ? this.buf[p]! : n === 2 ? this.view.getUint16(p) : this.view.getUint32(p);
    this.pos += n;
    if (v < min) throw malformed('non-canonical length');
    return v;
  }

  /** §5.1 rules 1-8 by head byte, at depth (§5.1 Depth: malformed above MAX_CONTENT_DEPTH). */
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
   * §5.1 rule 2: an integer, canonical only within [min, max] (the range no shorter format covers). 64-bit values are
   * computed in doubles: a true value outside the safe range rounds to a double outside it too.
   */
  private int(v: number, min: number, max: number): number {
    if (!(v >= min && v <= max)) throw malformed('non-canonical or out-of-range integer');
    return v;
  }

  /** §5.1 rule 4: a str of n bytes, strict UTF-8. */
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

  /** §5.1 rule 5: a bin of n bytes, as a copy. */
  private bin(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** §5.1 rule 6 and Lengths: n elements one level deeper; a count above the bytes remaining is malformed. */
  private array(n: number, depth: number): unknown[] {
    if (n > this.remaining) throw malformed('array count exceeds the bytes remaining');
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  /**
   * §5.1 rule 7 and Lengths: n entries, values one level deeper; keys unique, never __proto__, array indices
   * first and ascending. A count above half the bytes remaining is malformed.
   */
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

  /** §5.1 rule 7: a map key is a str (rule 4); any other type is malformed. */
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

  /** §5.2: the extension type byte must be -1 (0xff). */
  private extType(): void {
    if (this.buf[this.pos++] !== 0xff) throw malformed('unknown extension type');
  }

  /** §5.2 timestamp 32, fixext 4, type -1: seconds since the epoch, 0 .. 2^32-1. */
  private timestamp32(): Date {
    this.need(5);
    this.extType();
    const sec = this.view.getUint32(this.pos);
    this.pos += 4;
    return new Date(sec * 1000);
  }

  /** §5.2 timestamp 64, fixext 8, type -1: nsec (30 bits) then sec (34 bits); used when nsec > 0 or sec >= 2^32. */
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

  /** §5.2 timestamp 96, ext 8 of 12 bytes, type -1: nsec (u32) then sec (i64); used when sec < 0 or sec >= 2^34. */
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

/** §5.2 a timestamp's Date: only whole milliseconds, nsec < 10^9, within the Date range are canonical. */
function timestampDate(sec: number, nsec: number): Date {
  if (nsec % NS_PER_MS !== 0 || nsec >= 1e9) throw malformed('timestamp not in whole milliseconds');
  const ms = sec * 1000 + nsec / NS_PER_MS;
  if (!(Math.abs(ms) <= MAX_TIME_MS)) throw malformed('timestamp outside the Date range');
  return new Date(ms);
}

/** §5.1 rule 4: strict UTF-8 (RFC 3629), a leading U+FEFF kept; anything else is malformed. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (e) {
    throw fail('E_FRAME_MALFORMED', 'str is not valid UTF-8', e);
  }
}

/**
 * §5.1 Content: decodes exactly one canonical value (at depth 1) spanning all of bytes, or throws E_FRAME_MALFORMED.
 * Never returns a view into bytes.
 */
export function decodeCanonical(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const v = r.value(1);
  if (r.remaining !== 0) throw malformed('trailing bytes after the content');
  return v;
}
