/**
 * Canonical content (docs/PROTOCOL.md §5.1, §5.2; issue 9, hardening item 4): the content decoder accepts
 * exactly what the content encoder writes, one encoding per value, and rejects everything else with
 * E_FRAME_MALFORMED. Each rejection case below was accepted by v1's decoder (@msgpack/msgpack's decode, which
 * the tests call to show it) unless marked otherwise.
 */
import { Decoder, Encoder, decode as msgpackDecode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCanonical } from '../src/canonical-decode.js';
import { MAX_CONTENT_DEPTH } from '../src/canonical-limits.js';
import { decodeContent, encodeContent } from '../src/codec.js';
import { SealsigError } from '../src/errors.js';
import { expectCode, sealsigErrorOf } from './helpers.js';

// --- helpers ------------------------------------------------------------------------------------------

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const fromHex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

/** v1's content decoder: @msgpack/msgpack's Decoder, then the [integer, payload] shape check. */
function v1Decode(bytes: Uint8Array): { type: number; payload: unknown } {
  const v = new Decoder().decode(bytes) as unknown[];
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !Number.isInteger(v[0])) throw new Error('shape');
  return { type: v[0], payload: v[1] };
}

const v1Encoder = new Encoder({ ignoreUndefined: false });

/** The bytes of encodeContent (copied out of the shared buffer). */
const enc = (type: number, payload: unknown) => encodeContent(type, payload).slice();

/** Nested n deep: [[[...[leaf]...]]] with n arrays. */
function nest(n: number, leaf: unknown = 0): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

/** What a value becomes on the wire, per §5.1, or why it cannot be sent. */
function refusal(v: unknown, depth: number): string | undefined {
  if (depth > MAX_CONTENT_DEPTH) return 'depth';
  if (typeof v === 'string') return /[\uD800-\uDFFF]/u.test(v) ? 'surrogate' : undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'invalid date' : undefined;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = refusal(v[i], depth + 1);
      if (r) return r;
    }
    return undefined;
  }
  for (const k of Object.keys(v)) {
    if (k === '__proto__') return '__proto__';
    const r = refusal(k, 0) ?? refusal((v as Record<string, unknown>)[k], depth + 1);
    if (r) return r;
  }
  return undefined;
}

// --- the review's cases and the other non-canonical forms --------------------------------------------

describe('§5.1 content decoding rejects what is not canonical', () => {
  // [name, content hex, whether v1 accepted it]: nearly all are well-formed MessagePack that v1 accepted.
  const cases: [string, string, boolean?][] = [
    ['type as float 64 3.0', '92 cb 4008000000000000 c0'],
    ['type as float 64 -0.0', '92 cb 8000000000000000 c0'],
    ['type as float 32 3.0', '92 ca 40400000 c0'],
    ['type as uint 8 (non-canonical)', '92 cc 03 c0'],
    ['type as uint 64 (non-canonical)', '92 cf 0000000000000003 c0'],
    ['type as int 8 (a non-negative value in a signed format)', '92 d0 03 c0'],
    ['negative type', '92 ff c0'],
    ['type 2^53 (out of range)', '92 cf 0020000000000000 c0'],
    ['type 2^64-1 (out of range)', '92 cf ffffffffffffffff c0'],
    ['payload -0.0', '92 01 cb 8000000000000000'],
    ['payload 1.0 as float 64', '92 01 cb 3ff0000000000000'],
    ['payload 2^53-1 as float 64', '92 01 cb 433fffffffffffff'],
    ['payload 1.5 as float 32', '92 01 ca 3fc00000'],
    ['payload NaN with the sign bit (V8 arithmetic NaN bits)', '92 01 cb fff8000000000000'],
    ['payload NaN with a payload', '92 01 cb 7ff8000000000001'],
    ['payload 5 as uint 16', '92 01 cd 0005'],
    ['payload 200 as uint 16', '92 01 cd 00c8'],
    ['payload 65535 as uint 32', '92 01 ce 0000ffff'],
    ['payload 2^32-1 as uint 64', '92 01 cf 00000000ffffffff'],
    ['payload 2^53 as uint 64 (out of range)', '92 01 cf 0020000000000000'],
    ['payload -1 as int 8', '92 01 d0 ff'],
    ['payload -100 as int 16', '92 01 d1 ff9c'],
    ['payload -2^31 as int 64', '92 01 d3 ffffffff80000000'],
    ['payload -2^53 as int 64 (out of range)', '92 01 d3 ffe0000000000000'],
    ['payload -2^63 as int 64 (out of range)', '92 01 d3 8000000000000000'],
    ['payload 1 as int 32', '92 01 d2 00000001'],
    ['duplicate map keys', '92 01 82 a161 01 a161 02'],
    ['duplicate array-index map keys', '92 01 82 a130 01 a130 02'],
    ['array-index keys out of order', '92 01 82 a131 01 a130 02'],
    ['array-index key after another key', '92 01 82 a161 01 a130 02'],
    ['integer map key', '92 01 81 01 02'],
    ['nil map key', '92 01 81 c0 02', false],
    ['unknown ext type 5 (fixext 1)', '92 01 d4 05 00'],
    ['unknown ext type 0 (ext 8)', '92 01 c7 03 00 616263'],
    ['timestamp in a non-timestamp size (fixext 1)', '92 01 d4 ff 00', false],
    ['timestamp 32 written as ext 8', '92 01 c7 04 ff 00000000'],
    ['timestamp 64 with nsec 0 and a 32-bit sec', '92 01 d7 ff 00000000 00000001'],
    ['timestamp 96 with a sec that fits timestamp 64', '92 01 c7 0c ff 00000000 0000000000000001'],
    ['timestamp 96 of 1970-01-01 (what @msgpack writes for an invalid Date)', '92 01 c7 0c ff 00000000 0000000000000000'],
    ['timestamp with sub-millisecond nsec', '92 01 d7 ff 00000004 00000001'],
    ['timestamp with nsec >= 10^9', '92 01 d7 ff ee6b2800 00000001'],
    ['timestamp 96 beyond the Date range', '92 01 c7 0c ff 00000000 0000ffffffffffff'],
    ['fixstr written as str 8', '92 01 d9 01 61'],
    ['str 8 written as str 16', '92 01 da 0001 61'],
    ['empty str as str 32', '92 01 db 00000000'],
    ['fixarray written as array 16', '92 01 dc 0001 c0'],
    ['array written as array 32', '92 01 dd 00000000'],
    ['fixmap written as map 16', '92 01 de 0000'],
    ['map written as map 32', '92 01 df 00000001 a161 01'],
    ['bin 8 written as bin 16', '92 01 c5 0001 00'],
    ['bin 8 written as bin 32', '92 01 c6 00000000'],
    ['content head as array 16', 'dc 0002 01 c0'],
    ['invalid UTF-8: lone continuation byte', '92 01 a1 80'],
    ['invalid UTF-8: overlong NUL', '92 01 a2 c080'],
    ['invalid UTF-8: encoded surrogate', '92 01 a3 eda080'],
    ['invalid UTF-8: above U+10FFFF', '92 01 a4 f4908080'],
    ['invalid UTF-8: truncated sequence', '92 01 a2 e282'],
    ['invalid UTF-8 in a map key', '92 01 81 a1 ff 01'],
    ['invalid UTF-8 in a long str', `92 01 d9 40 ${'61'.repeat(63)}ff`],
  ];

  it.each(cases)('%s', (_name, h, v1Accepted = true) => {
    const bytes = fromHex(h);
    if (v1Accepted) expect(() => v1Decode(bytes)).not.toThrow();
    else expect(() => v1Decode(bytes)).toThrow();
    expectCode(() => decodeContent(bytes), 'E_FRAME_MALFORMED');
  });

  it('rejects a 60,000-deep array (v1 handed it to the app)', () => {
    const bytes = cat([0x92, 0x01], new Uint8Array(60_000).fill(0x91), [0xc0]);
    expect(() => v1Decode(bytes)).not.toThrow();
    expectCode(() => decodeContent(bytes), 'E_FRAME_MALFORMED');
  });

  it(`bounds nesting at depth ${MAX_CONTENT_DEPTH} exactly as the encoder does`, () => {
    // The content array is depth 1 and the payload depth 2: 30 arrays around a leaf put it at depth 32.
    const deepest = nest(MAX_CONTENT_DEPTH - 2);
    expect(decodeContent(enc(1, deepest)).payload).toEqual(deepest);
    expect(decodeContent(enc(1, nest(MAX_CONTENT_DEPTH - 2, []))).payload).toEqual(nest(MAX_CONTENT_DEPTH - 2, [])); // an empty array at 32
    expect(decodeContent(enc(1, nest(MAX_CONTENT_DEPTH - 2, {}))).payload).toEqual(nest(MAX_CONTENT_DEPTH - 2, {}));
    expectCode(() => encodeContent(1, nest(MAX_CONTENT_DEPTH - 1)), 'E_INVALID_ARGUMENT');
    expectCode(() => encodeContent(1, nest(MAX_CONTENT_DEPTH - 2, { a: 1 })), 'E_INVALID_ARGUMENT');
    const tooDeep = cat([0x92, 0x01], new Uint8Array(MAX_CONTENT_DEPTH - 1).fill(0x91), [0xc0]);
    expect(v1Encoder.encode([1, nest(MAX_CONTENT_DEPTH - 1, null)])).toEqual(tooDeep);
    expectCode(() => decodeContent(tooDeep), 'E_FRAME_MALFORMED');
    const tooDeepMap = cat([0x92, 0x01], new Uint8Array(MAX_CONTENT_DEPTH - 2).fill(0x91), [0x81, 0xa1, 0x61, 0xc0]);
    expectCode(() => decodeContent(tooDeepMap), 'E_FRAME_MALFORMED');
  });

  it('rejects trailing bytes (v1 did too)', () => {
    expectCode(() => decodeContent(fromHex('92 01 c0 00')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 c0 c0')), 'E_FRAME_MALFORMED');
  });

  it('rejects __proto__ as a map key (v1 did too)', () => {
    expectCode(() => decodeContent(fromHex('92 01 81 a9 5f5f70726f746f5f5f 01')), 'E_FRAME_MALFORMED');
  });

  it('rejects counts larger than the bytes remaining before allocating', () => {
    expectCode(() => decodeContent(fromHex('92 01 dd ffffffff c0')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 df ffffffff a161 c0')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 db ffffffff 61')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 c6 ffffffff 61')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 93 c0 c0')), 'E_FRAME_MALFORMED');
    expectCode(() => decodeContent(fromHex('92 01 82 a161 c0')), 'E_FRAME_MALFORMED');
  });

  it('rejects content that is not [uint type, payload]', () => {
    const notContent = ['91 01', '93 01 c0 c0', '92 a161 c0', '92 c0 c0', '80', '01', '', 'c1', '92 cb 7ff8000000000000 c0', '92 cb 4340000000000000 c0'];
    for (const h of notContent) {
      expectCode(() => decodeContent(fromHex(h)), 'E_FRAME_MALFORMED');
    }
  });

  it('returns bins as copies: reusing the content buffer does not change a delivered payload (v1 returned views)', () => {
    const v1Input = enc(1, { b: new Uint8Array([1, 2, 3]) });
    const v1Payload = v1Decode(v1Input).payload as { b: Uint8Array };
    v1Input.fill(0);
    expect(v1Payload.b).toEqual(new Uint8Array(3)); // v1's bin was a view into the buffer
    const input = enc(1, { b: new Uint8Array([1, 2, 3]) });
    const payload = decodeContent(input).payload as { b: Uint8Array };
    input.fill(0);
    expect(payload.b).toEqual(new Uint8Array([1, 2, 3]));
  });
});

// --- what the encoder writes, and what it refuses -----------------------------------------------------

describe('§5.1 content encoding', () => {
  it('writes what @msgpack/msgpack writes for the edge values of §5.1', () => {
    const values: unknown[] = [
      0, -0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -1, -32, -33, -128,
      -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1), -(2 ** 53), 0.5, -1.5, Number.MIN_VALUE, Infinity,
      -Infinity, Number.NaN, 1e300, '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(15), 'é'.repeat(16), '😀'.repeat(30),
      'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(70_000), '\ufeffbom', new Uint8Array(0), new Uint8Array(255),
      new Uint8Array(256), new Uint8Array(70_000), new Float32Array([1, 2]), [], new Array(15).fill(1), new Array(16).fill(1),
      new Array(70_000).fill(0), {}, { a: 1, b: [1, 2] }, { 1: 1, 0: 2, b: 3, a: 4, 4294967294: 5, 4294967295: 6 },
      Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), null, undefined, true, false, [undefined, null],
      [, 1], new Date(0), new Date(1), new Date(-1), new Date(999), new Date(2 ** 32 * 1000 - 1000), new Date(2 ** 32 * 1000),
      new Date(2 ** 34 * 1000 - 1), new Date(2 ** 34 * 1000), new Date(8.64e15), new Date(-8.64e15), new Date(1_700_000_000_123),
    ];
    for (const v of values) {
      const ours = enc(3, v);
      expect(hex(ours), String(v).slice(0, 40)).toBe(hex(v1Encoder.encode([3, v])));
      expect(decodeContent(ours).payload).toEqual((msgpackDecode(ours) as unknown[])[1]);
      expect(hex(enc(3, decodeContent(ours).payload))).toBe(hex(ours));
    }
  });

  it('writes -0 as the integer 0, and NaN always as 0x7ff8000000000000', () => {
    expect(hex(enc(1, -0))).toBe('9201' + '00');
    const zero = Number('0');
    const arithmeticNaN = [zero / zero, Math.sqrt(-1 - zero), Infinity - Infinity * (1 + zero)];
    for (const nan of arithmeticNaN) expect(hex(enc(1, nan))).toBe('9201' + 'cb7ff8000000000000');
    const payloadNaN = new Float64Array(fromHex('010000000000f87f').buffer)[0];
    expect(hex(enc(1, payloadNaN))).toBe('9201' + 'cb7ff8000000000000');
    expect(decodeContent(enc(1, payloadNaN)).payload).toBeNaN();
  });

  it('refuses what it cannot send canonically, with E_INVALID_ARGUMENT', () => {
    for (const s of ['\ud800', 'a\udc00b', '\ude00\ud83d', 'x'.repeat(100) + '\ud800', '\ud800' + 'x'.repeat(100)]) {
      expectCode(() => encodeContent(1, s), 'E_INVALID_ARGUMENT');
      expectCode(() => encodeContent(1, { [s]: 1 }), 'E_INVALID_ARGUMENT');
    }
    expect(decodeContent(enc(1, '😀'.repeat(40))).payload).toBe('😀'.repeat(40)); // pairs are fine
    expectCode(() => encodeContent(1, new Date(Number.NaN)), 'E_INVALID_ARGUMENT');
    expectCode(() => encodeContent(1, JSON.parse('{"__proto__": 1}')), 'E_INVALID_ARGUMENT');
    expectCode(() => encodeContent(1, () => 1), 'E_INVALID_ARGUMENT');
    expectCode(() => encodeContent(1, Symbol('s')), 'E_INVALID_ARGUMENT');
    expectCode(() => encodeContent(1, 1n), 'E_INVALID_ARGUMENT');
    const circular: unknown[] = [];
    circular.push(circular);
    expectCode(() => encodeContent(1, circular), 'E_INVALID_ARGUMENT');
    const throwing = {
      get x() {
        throw new Error('app getter');
      },
    };
    expectCode(() => encodeContent(1, throwing), 'E_INVALID_ARGUMENT');
    for (const t of [-1, 0.5, 2 ** 53, Number.NaN]) expectCode(() => encodeContent(t, null), 'E_INVALID_ARGUMENT');
  });

  it('is re-entrant: a getter that encodes content does not corrupt the outer encoding', () => {
    const inner = { get x() { return hex(enc(2, 'inner')); } };
    const bytes = enc(1, inner);
    expect(decodeContent(bytes).payload).toEqual({ x: hex(v1Encoder.encode([2, 'inner'])) });
  });

  it('decodes timestamps to the Date it was given, in whole milliseconds', () => {
    for (const ms of [0, 1, -1, 999, -999, 1000, 2 ** 32 * 1000, 2 ** 34 * 1000, 8.64e15, -8.64e15, 1_700_000_000_123]) {
      expect((decodeContent(enc(1, new Date(ms))).payload as Date).getTime()).toBe(ms);
    }
  });
});

// --- properties ---------------------------------------------------------------------------------------

/** Strings of any code point, and now and then one with a lone surrogate. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const anyString = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.constantFrom('a', 'é', '😀'), loneSurrogate), maxLength: 60 }) },
);
const keyArb = fc.oneof(anyString, fc.constantFrom('0', '1', '10', '01', '4294967294', '4294967295', 'constructor', 'toString', '__proto__'));

/** Values an app may hand to send(): fc.anything plus dates, typed arrays, sparse arrays and odd keys. */
const valueArb = fc.anything({
  key: keyArb,
  maxDepth: 6,
  maxKeys: 6,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  values: [
    anyString,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constantFrom(0, -0, Number.NaN, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 53 - 1, -(2 ** 31) - 1, 127, 128, -32, -33),
    fc.uint8Array({ maxLength: 300 }),
    fc.date({ noInvalidDate: false }),
  ],
});

const typeArb = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.maxSafeNat());

describe('§5.1 properties', () => {
  it('(1) what encodeContent writes decodes to what @msgpack/msgpack decodes, and encodes to the same bytes again', () => {
    fc.assert(
      fc.property(typeArb, valueArb, (type, v) => {
        const why = refusal(v, 2);
        const e = sealsigErrorOf(() => encodeContent(type, v));
        if (why !== undefined) {
          expect(e?.code, why).toBe('E_INVALID_ARGUMENT');
          return;
        }
        expect(e).toBeUndefined();
        const bytes = enc(type, v);
        const decoded = decodeContent(bytes);
        expect(decoded.type).toBe(type);
        expect(decoded.payload).toEqual((msgpackDecode(bytes) as unknown[])[1]);
        expect(hex(enc(type, decoded.payload))).toBe(hex(bytes));
      }),
      { numRuns: 1500 },
    );
  });

  it('(1b) the wire is v1\'s: for values without NaN, the bytes are @msgpack/msgpack\'s', () => {
    const noNaN = (v: unknown): boolean => {
      if (typeof v === 'number') return !Number.isNaN(v);
      if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof Date) return true;
      return Object.values(v).every(noNaN);
    };
    fc.assert(
      fc.property(typeArb, valueArb, (type, v) => {
        fc.pre(refusal(v, 2) === undefined && noNaN(v));
        expect(hex(enc(type, v))).toBe(hex(v1Encoder.encode([type, v])));
      }),
      { numRuns: 1000 },
    );
  });

  it('(2) arbitrary bytes decode or throw E_FRAME_MALFORMED, never anything else', () => {
    const valid = fc.tuple(typeArb, valueArb).filter(([, v]) => refusal(v, 2) === undefined).map(([t, v]) => enc(t, v));
    const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'cut'));
    const mutated = fc
      .tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 }))
      .map(([b, edits]) => {
        let out = [...b];
        for (const [at, byte, op] of edits) {
          const i = out.length === 0 ? 0 : at % out.length;
          if (op === 'set') out[i] = byte;
          else if (op === 'insert') out.splice(i, 0, byte);
          else if (op === 'delete') out.splice(i, 1);
          else out = out.slice(0, i);
        }
        return Uint8Array.from(out);
      });
    const arb = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }).map((b) => cat([0x92, 0x01], b)), mutated);
    fc.assert(
      fc.property(arb, (bytes) => {
        try {
          decodeContent(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(SealsigError);
          expect((e as SealsigError).code).toBe('E_FRAME_MALFORMED');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('(3) every byte string the decoder accepts re-encodes to itself (one encoding per value)', () => {
    let accepted = 0;
    let runs = 0;
    fc.assert(
      fc.property(looseContent, (bytes) => {
        runs++;
        let decoded: { type: number; payload: unknown };
        try {
          decoded = decodeContent(bytes);
        } catch (e) {
          expect((e as SealsigError).code).toBe('E_FRAME_MALFORMED');
          return;
        }
        accepted++;
        expect(hex(enc(decoded.type, decoded.payload))).toBe(hex(bytes));
      }),
      { numRuns: 5000 },
    );
    // The generator writes canonical forms often enough that the property is not vacuous.
    expect(accepted).toBeGreaterThan(runs / 10);
  });

  it('decodeCanonical never returns a view into its input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const bytes = enc(1, [b, { b }]);
        const [x, { b: y }] = (decodeContent(bytes).payload as [Uint8Array, { b: Uint8Array }]);
        expect(x.buffer).not.toBe(bytes.buffer);
        expect(y.buffer).not.toBe(bytes.buffer);
        expect(x.buffer).not.toBe(y.buffer);
        expect(decodeCanonical(enc(1, b).subarray(2))).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });
});

// --- a writer of loose MessagePack: every format, canonical or not -----------------------------------

/** n bytes, biased towards the boundaries where canonical and non-canonical forms meet. */
function rawBytes(n: number): fc.Arbitrary<number[]> {
  const fill = (first: number, rest: number) => [first, ...new Array<number>(n - 1).fill(rest)];
  return fc.oneof(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }),
    fc.constantFrom(fill(0, 0), fill(0xff, 0xff), fill(0x7f, 0xff), fill(0x80, 0), fill(0, 0xff)),
    fc.array(fc.constantFrom(0, 1, 0x1f, 0x20, 0x7f, 0x80, 0xff), { minLength: n, maxLength: n }),
  );
}

/** Big-endian two's complement of an integer in n bytes (n <= 8; |v| < 2^53). */
function intBytes(v: number, n: number): number[] {
  const out: number[] = [];
  let hi = Math.floor(v / 0x100000000);
  let lo = v - hi * 0x100000000;
  for (let i = 0; i < n; i++) {
    if (i < 4) {
      out.unshift(lo & 0xff);
      lo = Math.floor(lo / 256);
    } else {
      out.unshift(hi & 0xff);
      hi = Math.floor(hi / 256);
    }
  }
  return out;
}

const interestingInts = fc.oneof(
  fc.constantFrom(0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1),
  fc.constantFrom(-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1)),
  fc.integer(),
  fc.maxSafeInteger(),
);

const intHeads: [number, number][] = [[0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8], [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8]];

const looseInt: fc.Arbitrary<number[]> = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }).map((b) => [b]),
  fc.integer({ min: 0xe0, max: 0xff }).map((b) => [b]),
  fc.tuple(fc.constantFrom(...intHeads), interestingInts).map(([[h, n], v]) => [h, ...intBytes(v, n)]),
  fc.constantFrom(...intHeads).chain(([h, n]) => rawBytes(n).map((b) => [h, ...b])),
);

function f64(v: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return [...b];
}

const looseFloat: fc.Arbitrary<number[]> = fc.oneof(
  fc.oneof(fc.double(), interestingInts, fc.constantFrom(-0, 2 ** 53, 2 ** 64, 0.5)).map((v) => [0xcb, ...f64(v)]),
  rawBytes(8).map((b) => [0xcb, ...b]),
  fc.constantFrom<number[]>([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], [0xcb, 0xff, 0xf8, 0, 0, 0, 0, 0, 0], [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 1]),
  rawBytes(4).map((b) => [0xca, ...b]),
);

/** A head for a str, bin, array or map of n bytes/elements: mostly the canonical (shortest) one, else any that fits. */
function sizedHead(n: number, fix: number | undefined, fixMax: number, h8: number | undefined, h16: number, h32: number): fc.Arbitrary<number[]> {
  const options: number[][] = [];
  if (fix !== undefined && n <= fixMax) options.push([fix + n]);
  if (h8 !== undefined && n < 0x100) options.push([h8, n]);
  if (n < 0x10000) options.push([h16, ...intBytes(n, 2)]);
  options.push([h32, ...intBytes(n, 4)]);
  return fc.oneof({ weight: 3, arbitrary: fc.constant(options[0]!) }, { weight: 1, arbitrary: fc.constantFrom(...options) });
}

const utf8 = new TextEncoder();
const strBody: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('a', 'b', '0', '1', '01', '4294967294', '4294967295', '__proto__', 'x'.repeat(40), 'é'.repeat(140)))
      .map((s) => [...utf8.encode(s)]),
  },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom<number[]>([0xef, 0xbb, 0xbf], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]) },
);
const looseStr = strBody.chain((b) => sizedHead(b.length, 0xa0, 31, 0xd9, 0xda, 0xdb).map((h) => [...h, ...b]));
const looseBin = fc.oneof(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), fc.constant(new Array<number>(300).fill(7))).chain((b) =>
  sizedHead(b.length, undefined, 0, 0xc4, 0xc5, 0xc6).map((h) => [...h, ...b]),
);

const nsecWords = fc.oneof(fc.integer({ min: 0, max: 999 }).map((ms) => ms * 1e6), fc.nat(), fc.constantFrom(0, 1e9, 999_999_999));
const secs = fc.oneof(fc.integer({ min: -8_640_000_000_000, max: 8_640_000_000_000 }), fc.integer({ min: -10, max: 2 ** 35 }));
const fixexts: [number, number][] = [[0xd4, 1], [0xd5, 2], [0xd6, 4], [0xd7, 8], [0xd8, 16]];
const looseExt: fc.Arbitrary<number[]> = fc.oneof(
  fc.nat().map((sec) => [0xd6, 0xff, ...intBytes(sec, 4)]),
  fc
    .tuple(nsecWords, fc.integer({ min: 0, max: 3 }), fc.nat())
    .map(([ns, hi, lo]) => [0xd7, 0xff, ...intBytes(((ns % 2 ** 30) * 4 + hi) >>> 0, 4), ...intBytes(lo, 4)]),
  fc.tuple(nsecWords, secs).map(([ns, sec]) => [0xc7, 12, 0xff, ...intBytes(ns >>> 0, 4), ...intBytes(sec, 8)]),
  fc
    .tuple(fc.constantFrom(...fixexts), fc.constantFrom(0xff, 0, 5, 0x80))
    .chain(([[h, n], t]) => rawBytes(n).map((b) => [h, t, ...b])),
  fc
    .tuple(fc.constantFrom(0xff, 0, 1), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }), fc.constantFrom(0xc7, 0xc8, 0xc9))
    .map(([t, b, h]) => [h, ...intBytes(b.length, h === 0xc7 ? 1 : h === 0xc8 ? 2 : 4), t, ...b]),
);

const looseScalar: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 4, arbitrary: looseInt },
  { weight: 2, arbitrary: looseFloat },
  { weight: 3, arbitrary: looseStr },
  { weight: 1, arbitrary: looseBin },
  { weight: 2, arbitrary: looseExt },
  { weight: 2, arbitrary: fc.constantFrom<number[]>([0xc0], [0xc2], [0xc3], [0xc1]) },
);

const looseValue: fc.Arbitrary<number[]> = fc.letrec<{ value: number[]; array: number[]; map: number[] }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, looseScalar, tie('array'), tie('map')),
  array: fc
    .array(tie('value'), { maxLength: 5 })
    .chain((items) => sizedHead(items.length, 0x90, 15, undefined, 0xdc, 0xdd).map((h) => [...h, ...items.flat()])),
  map: fc
    .array(fc.tuple(fc.oneof({ weight: 6, arbitrary: looseStr }, { weight: 1, arbitrary: looseScalar }), tie('value')), { maxLength: 5 })
    .chain((entries) => sizedHead(entries.length, 0x80, 15, undefined, 0xde, 0xdf).map((h) => [...h, ...entries.flatMap(([k, v]) => [...k, ...v])])),
})).value;

/** [type, payload] in loose MessagePack, now and then with a wrong head or a trailing byte. */
const looseContent: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constant([0x92]) }, { weight: 1, arbitrary: fc.constantFrom([0xdc, 0, 2], [0x93]) }),
    fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((b) => [b]) },
      { weight: 1, arbitrary: looseInt },
      { weight: 1, arbitrary: looseFloat },
    ),
    looseValue,
    fc.oneof({ weight: 9, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.constantFrom([0], [0xc0]) }),
  )
  .map(([head, type, payload, tail]) => Uint8Array.from([...head, ...type, ...payload, ...tail]));
