/**
 * Property tests of the wire format: the canonical envelope codec (§4), padding (§5.3) and the replay
 * window (§8.2). Every rejection must be a SealsigError with a stable code, never another exception.
 */
import { decode as msgpackDecode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBroadcast, sealBroadcast, verifyBroadcast } from '../src/broadcast.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameKind,
  MAX_SAFE_COUNTER,
  PROTOCOL_VERSION,
  SUITE_V1,
  decodeFrame,
  encodeFrame,
  encodeHeader,
  type DecodedFrame,
  type Header,
} from '../src/envelope.js';
import { SealsigError } from '../src/errors.js';
import { deriveEpochKeys, deriveSession, memberIdOf } from '../src/kdf.js';
import { MIN_BUCKET, pad, paddedLength, padme, unpad } from '../src/padding.js';
import { ChannelKeys, newHandshake, pairwisePrologue, readHandshakeFrame, writeHandshakeFrame, type Endpoint } from '../src/pairwise.js';
import { pairKey } from '../src/pair-tag.js';
import { ReplayWindow } from '../src/replay.js';
import { ed25519KeyPair, randomBytes, ready, x25519KeyPair } from '../src/sodium.js';
import { createSessionId } from '../src/kdf.js';
import { expectCode, sealsigErrorOf } from './helpers.js';

beforeAll(async () => {
  await ready();
});

// --- helpers ------------------------------------------------------------------------------------------


/** Fast byte equality (vitest's deep equality is slow on large typed arrays). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  const same = actual.length === expected.length && Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.length), Buffer.from(expected.buffer, expected.byteOffset, expected.length)) === 0;
  if (!same) expect(actual).toEqual(expected); // for the diff
}

/** n pseudo-random bytes (crypto.getRandomValues refuses more than 64 KiB at once). */
function filler(n: number, seed = n): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}


const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const kindArb = fc.constantFrom(FrameKind.broadcast, FrameKind.handshakeInit, FrameKind.handshakeResp, FrameKind.direct);
const u32Arb = fc.oneof(fc.integer({ min: 0, max: 0x81 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff));
const u53Arb = fc.oneof(
  fc.integer({ min: 0, max: 0x1_0000 }),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.maxSafeNat(),
  fc.constantFrom(0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x1_0000_0000, MAX_SAFE_COUNTER),
);

const headerArb: fc.Arbitrary<Header> = fc
  .record({
    kind: kindArb,
    route: bytes(16),
    sender: bytes(16),
    instance: bytes(8),
    recipient: bytes(16),
    epoch: u32Arb,
    counter: u53Arb,
    timestamp: u53Arb,
  })
  .map((r) => ({
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    ...r,
    recipient: r.kind === FrameKind.broadcast ? null : r.recipient,
  }));

const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => filler(n)), // crosses the bin8/bin16/bin32 boundaries
  fc.constantFrom(0, 255, 256, 65535, 65536).map((n) => new Uint8Array(n)),
);

/** Raw msgpack pieces with a chosen (possibly non-canonical) format, to build frames by hand. */
type UintFormat = 'fix' | 'u8' | 'u16' | 'u32' | 'u64';
function rawUint(n: number, f: UintFormat): number[] {
  const b = new Uint8Array(9);
  const v = new DataView(b.buffer);
  switch (f) {
    case 'fix':
      return [n];
    case 'u8':
      return [0xcc, n];
    case 'u16':
      v.setUint16(0, n);
      return [0xcd, b[0]!, b[1]!];
    case 'u32':
      v.setUint32(0, n);
      return [0xce, ...b.subarray(0, 4)];
    case 'u64':
      v.setUint32(0, Math.floor(n / 0x1_0000_0000));
      v.setUint32(4, n >>> 0);
      return [0xcf, ...b.subarray(0, 8)];
  }
}
function canonicalUintFormat(n: number): UintFormat {
  return n < 0x80 ? 'fix' : n < 0x100 ? 'u8' : n < 0x10000 ? 'u16' : n < 0x1_0000_0000 ? 'u32' : 'u64';
}
const UINT_FORMATS: UintFormat[] = ['fix', 'u8', 'u16', 'u32', 'u64'];
const UINT_CAPACITY: Record<UintFormat, number> = { fix: 0x7f, u8: 0xff, u16: 0xffff, u32: 0xffffffff, u64: MAX_SAFE_COUNTER };

type BinFormat = 'bin8' | 'bin16' | 'bin32';
function rawBin(data: Uint8Array, f: BinFormat): number[] {
  const n = data.length;
  const head = f === 'bin8' ? [0xc4, n] : f === 'bin16' ? [0xc5, n >> 8, n & 0xff] : [0xc6, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return [...head, ...data];
}
function canonicalBinFormat(n: number): BinFormat {
  return n < 0x100 ? 'bin8' : n < 0x10000 ? 'bin16' : 'bin32';
}

interface RawFormats {
  version?: UintFormat;
  suite?: UintFormat;
  kind?: UintFormat;
  epoch?: UintFormat;
  counter?: UintFormat;
  timestamp?: UintFormat;
  route?: BinFormat;
  sender?: BinFormat;
  instance?: BinFormat;
  recipient?: BinFormat;
  body?: BinFormat;
}
const UINT_FIELDS = ['version', 'suite', 'kind', 'epoch', 'counter', 'timestamp'] as const;
const BIN_FIELDS = ['route', 'sender', 'instance', 'recipient', 'body'] as const;

/** A frame written field by field; each field canonical unless `formats` says otherwise. */
function rawFrame(h: Header, body: Uint8Array, formats: RawFormats = {}): Uint8Array {
  const u = (k: (typeof UINT_FIELDS)[number]) => rawUint(h[k], formats[k] ?? canonicalUintFormat(h[k]));
  const b = (k: Exclude<(typeof BIN_FIELDS)[number], 'body'>, d: Uint8Array) => rawBin(d, formats[k] ?? canonicalBinFormat(d.length));
  const out = [0x9b, ...u('version'), ...u('suite'), ...u('kind'), ...b('route', h.route), ...b('sender', h.sender), ...b('instance', h.instance)];
  out.push(...(h.recipient === null ? [0xc0] : b('recipient', h.recipient)));
  out.push(...u('epoch'), ...u('counter'), ...u('timestamp'), ...rawBin(body, formats.body ?? canonicalBinFormat(body.length)));
  return Uint8Array.from(out);
}

function sampleHeader(kind: FrameKind = FrameKind.direct, over: Partial<Header> = {}): Header {
  return {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind,
    route: randomBytes(16),
    sender: randomBytes(16),
    instance: randomBytes(8),
    recipient: kind === FrameKind.broadcast ? null : randomBytes(16),
    epoch: 0,
    counter: 5,
    timestamp: 1_700_000_000_000,
    ...over,
  };
}

/** Two ends of a real Noise KKpsk0 channel plus the handshake frames that built it. */
function realChannel() {
  const route = randomBytes(16);
  const a: Endpoint = { id: randomBytes(16), instance: randomBytes(8) };
  const b: Endpoint = { id: randomBytes(16), instance: randomBytes(8) };
  const aDh = x25519KeyPair();
  const bDh = x25519KeyPair();
  const psk = randomBytes(32);
  const prologue = pairwisePrologue(route, a, b);
  const header = (kind: FrameKind, from: Endpoint, to: Endpoint, counter: number): Header => ({
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind,
    route,
    sender: from.id,
    instance: from.instance,
    recipient: to.id,
    epoch: 0,
    counter,
    timestamp: 1_700_000_000_000 + counter,
  });
  const initiator = newHandshake({ initiator: true, prologue, s: aDh, rs: bDh.publicKey, psk });
  const responder = newHandshake({ initiator: false, prologue, s: bDh, rs: aDh.publicKey, psk });
  const tagKey = pairKey(route, a, aDh, b, bDh.publicKey);
  const init = writeHandshakeFrame(initiator, header(FrameKind.handshakeInit, a, b, 0), tagKey).frame;
  readHandshakeFrame(responder, decodeFrame(init), tagKey);
  const resp = writeHandshakeFrame(responder, header(FrameKind.handshakeResp, b, a, 0), tagKey);
  const { split } = readHandshakeFrame(initiator, decodeFrame(resp.frame), tagKey);
  const aKeys = new ChannelKeys(split![0], split![1]);
  const bKeys = new ChannelKeys(resp.split![1], resp.split![0]);
  /** A fresh responder state, to read (possibly tampered) copies of the init frame. */
  const freshResponder = () => newHandshake({ initiator: false, prologue, s: bDh, rs: aDh.publicKey, psk });
  return { a, b, route, aKeys, bKeys, init, resp: resp.frame, header, freshResponder, tagKey };
}

// --- 1. the envelope codec --------------------------------------------------------------------------------

describe('envelope codec', () => {
  it('decodeFrame(encodeFrame(encodeHeader(h), body)) returns h and body, and the ad is the header bytes', () => {
    fc.assert(
      fc.property(headerArb, bodyArb, (h, body) => {
        const ad = encodeHeader(h);
        expect(ad.length).toBeLessThanOrEqual(100);
        const frame = encodeFrame(ad, body);
        const d = decodeFrame(frame, 1 << 20);
        expect(d.header).toEqual(h);
        expectBytes(d.ad, ad);
        expectBytes(d.body, body);
        // The hand-written encoder produces standard msgpack, and the field-by-field canonical form.
        expectBytes(frame, rawFrame(h, body));
        const std = msgpackDecode(frame) as unknown[];
        expectBytes(std[10] as Uint8Array, body);
        expect(std.slice(0, 10)).toEqual([h.version, h.suite, h.kind, h.route, h.sender, h.instance, h.recipient, h.epoch, h.counter, h.timestamp]);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeHeader refuses headers that cannot be encoded (E_INVALID_ARGUMENT)', () => {
    const base = sampleHeader(FrameKind.direct);
    const bad: Partial<Header>[] = [
      { recipient: null },
      { kind: FrameKind.broadcast },
      { epoch: 2 ** 32 },
      { epoch: -1 },
      { counter: MAX_SAFE_COUNTER + 1 },
      { counter: 1.5 },
      { timestamp: Number.NaN },
      { route: new Uint8Array(15) },
      { sender: new Uint8Array(17) },
      { instance: new Uint8Array(16) },
      { recipient: new Uint8Array(8) },
    ];
    for (const over of bad) expectCode(() => encodeHeader({ ...base, ...over }), 'E_INVALID_ARGUMENT');
  });

  it('arbitrary bytes either decode or throw a SealsigError (never another exception)', () => {
    const msgpackish = fc
      .tuple(
        fc.constantFrom(0x9b, 0x9a, 0x9c, 0xdc, 0x90, 0xc0, 0xc4, 0xcf),
        fc.array(fc.constantFrom(0x01, 0x02, 0x04, 0x7f, 0xcc, 0xcd, 0xce, 0xcf, 0xc4, 0xc5, 0xc6, 0xc0, 0x10, 0x08, 0xff, 0x00), { maxLength: 40 }),
        fc.uint8Array({ maxLength: 200 }),
      )
      .map(([head, tokens, rest]) => Uint8Array.from([head, ...tokens, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), msgpackish), fc.option(fc.integer({ min: 0, max: 8192 }), { nil: undefined }), (input, max) => {
        let d: DecodedFrame | undefined;
        const e = sealsigErrorOf(() => (d = decodeFrame(input, max)));
        if (e === undefined) {
          // Whatever decodes is canonical: it re-encodes to exactly the input.
          expectBytes(encodeFrame(encodeHeader(d!.header), d!.body), input);
        }
      }),
      { numRuns: 2000 },
    );
    // Not even a non-Uint8Array gets past the type check with another exception.
    for (const v of [undefined, null, 'x', [0x9b], new ArrayBuffer(4), new Uint16Array(4)]) {
      expectCode(() => decodeFrame(v as unknown as Uint8Array), 'E_FRAME_MALFORMED');
    }
  });

  it('mutations of a valid frame either fail with a SealsigError or decode to their own canonical bytes', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (h, body, muts) => {
        const bytes = [...encodeFrame(encodeHeader(h), body)];
        for (const m of muts) {
          const at = m.at % (bytes.length + 1);
          if (m.op === 'set') bytes[Math.min(at, bytes.length - 1)] = m.value;
          else if (m.op === 'insert') bytes.splice(at, 0, m.value);
          else bytes.splice(Math.min(at, bytes.length - 1), 1);
        }
        const input = Uint8Array.from(bytes);
        let d: DecodedFrame | undefined;
        const e = sealsigErrorOf(() => (d = decodeFrame(input)));
        if (e === undefined) expectBytes(encodeFrame(encodeHeader(d!.header), d!.body), input);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every non-canonical integer and bin encoding with E_FRAME_MALFORMED', () => {
    const body = randomBytes(40);
    const check = (h: Header) => {
      expect(decodeFrame(rawFrame(h, body)).header).toEqual(h); // the canonical form decodes
      for (const field of UINT_FIELDS) {
        const canonical = canonicalUintFormat(h[field]);
        for (const f of UINT_FORMATS) {
          if (f === canonical || UINT_CAPACITY[f] < h[field]) continue;
          // Any wider format than the shortest one is refused, also for the version and suite.
          expectCode(() => decodeFrame(rawFrame(h, body, { [field]: f })), 'E_FRAME_MALFORMED');
        }
      }
      for (const field of BIN_FIELDS) {
        if (field === 'recipient' && h.recipient === null) continue;
        for (const f of ['bin16', 'bin32'] as const) expectCode(() => decodeFrame(rawFrame(h, body, { [field]: f })), 'E_FRAME_MALFORMED');
      }
    };
    check(sampleHeader(FrameKind.direct, { counter: 5, epoch: 0, timestamp: 1_700_000_000_000 }));
    check(sampleHeader(FrameKind.broadcast, { counter: 0x80, epoch: 0x100, timestamp: 0x10000 }));
    check(sampleHeader(FrameKind.handshakeInit, { counter: 0xffff, epoch: 0xffffffff, timestamp: 0x7f }));

    // The brief's example: counter 5 written as 0xcc 0x05.
    const h = sampleHeader(FrameKind.direct, { counter: 5 });
    const canonical = rawFrame(h, body);
    const nonCanonical = rawFrame(h, body, { counter: 'u8' });
    expect(nonCanonical.length).toBe(canonical.length + 1);
    expectCode(() => decodeFrame(nonCanonical), 'E_FRAME_MALFORMED');

    // Other shapes: a 10- or 12-element array, array16 of 11, a str instead of a bin, nil for a direct
    // frame's recipient, a recipient for a broadcast, an unknown kind, integers above their range.
    const good = encodeFrame(encodeHeader(h), body);
    const withByte = (at: number, v: number) => {
      const c = good.slice();
      c[at] = v;
      return c;
    };
    expectCode(() => decodeFrame(withByte(0, 0x9a)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeFrame(withByte(0, 0x9c)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeFrame(Uint8Array.from([0xdc, 0x00, 0x0b, ...good.subarray(1)])), 'E_FRAME_MALFORMED');
    expectCode(() => decodeFrame(withByte(4, 0xd9)), 'E_FRAME_MALFORMED'); // route as str8
    expectCode(() => decodeFrame(rawFrame({ ...h, kind: FrameKind.broadcast }, body)), 'E_FRAME_MALFORMED'); // recipient present
    expectCode(() => decodeFrame(rawFrame({ ...h, recipient: null }, body)), 'E_FRAME_MALFORMED'); // recipient nil
    for (const kind of [0, 5, 0x7f, 0xff]) expectCode(() => decodeFrame(rawFrame({ ...h, kind: kind as FrameKind }, body)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeFrame(rawFrame({ ...h, kind: 0x100 as FrameKind }, body)), 'E_FRAME_MALFORMED');
    expectCode(() => decodeFrame(rawFrame({ ...h, epoch: 2 ** 32 }, body)), 'E_FRAME_MALFORMED');
    // 2^53 itself, and the all-ones uint64, are above the counter's range.
    const over = [0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
    const allOnes = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const counterAt = 1 + 1 + 1 + 1 + 18 + 18 + 10 + 18 + 1; // up to and including the epoch (0)
    for (const big of [over, allOnes]) {
      const frame = Uint8Array.from([...good.subarray(0, counterAt), ...big, ...good.subarray(counterAt + 1)]);
      expectCode(() => decodeFrame(frame), 'E_FRAME_MALFORMED');
    }
    // Sanity of the offset arithmetic above: the same splice with a canonical counter decodes.
    const ok = Uint8Array.from([...good.subarray(0, counterAt), ...rawUint(2 ** 40, 'u64'), ...good.subarray(counterAt + 1)]);
    expect(decodeFrame(ok).header.counter).toBe(2 ** 40);
  });

  it('rejects unknown versions and suites with E_VERSION, in any canonical encoding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.boolean(),
        (v, which) => {
          fc.pre(which ? v !== PROTOCOL_VERSION : v !== SUITE_V1);
          const h = sampleHeader(FrameKind.broadcast, which ? { version: v } : { suite: v });
          expectCode(() => decodeFrame(rawFrame(h, new Uint8Array(60))), 'E_VERSION');
        },
      ),
      { numRuns: 200 },
    );
    // Version and suite are checked before the rest of the frame is parsed.
    expectCode(() => decodeFrame(Uint8Array.from([0x9b, 0x04, 0x01])), 'E_VERSION');
    expectCode(() => decodeFrame(Uint8Array.from([0x9b, 0x01, 0x01])), 'E_VERSION'); // versions 1 and 2 are not spoken any more
    expectCode(() => decodeFrame(Uint8Array.from([0x9b, 0x02, 0x01])), 'E_VERSION');
    expectCode(() => decodeFrame(Uint8Array.from([0x9b, 0x03, 0x02])), 'E_VERSION');
  });

  it('rejects frames above the maximum with E_FRAME_TOO_LARGE, before parsing anything', () => {
    const h = sampleHeader(FrameKind.direct);
    const frame = encodeFrame(encodeHeader(h), new Uint8Array(1000));
    expect(decodeFrame(frame, frame.length).body.length).toBe(1000);
    expectCode(() => decodeFrame(frame, frame.length - 1), 'E_FRAME_TOO_LARGE');
    expectCode(() => decodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1)), 'E_FRAME_TOO_LARGE');
    expectCode(() => decodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES)), 'E_FRAME_MALFORMED');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 300 }), (max, extra) => {
        expectCode(() => decodeFrame(randomBytes(max + extra), max), 'E_FRAME_TOO_LARGE');
      }),
      { numRuns: 100 },
    );
  });
});

// --- 2. tampering with sealed frames ----------------------------------------------------------------------

describe('every truncation, extension and bit flip of a sealed frame is rejected', () => {
  /** Mutations of a frame: each prefix, each one-byte append, each single-byte insertion, each bit flip. */
  function* mutations(frame: Uint8Array): Generator<[string, Uint8Array]> {
    for (let n = 0; n < frame.length; n++) yield [`truncated to ${n}`, frame.subarray(0, n)];
    for (let v = 0; v < 256; v++) {
      const c = new Uint8Array(frame.length + 1);
      c.set(frame);
      c[frame.length] = v;
      yield [`appended 0x${v.toString(16)}`, c];
    }
    for (let at = 0; at < frame.length; at++) {
      const v = (at * 131 + 7) & 0xff;
      yield [`inserted 0x${v.toString(16)} at ${at}`, Uint8Array.from([...frame.subarray(0, at), v, ...frame.subarray(at)])];
    }
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const c = frame.slice();
      c[bit >> 3]! ^= 1 << (bit & 7);
      yield [`bit ${bit} flipped`, c];
    }
  }

  function expectAllRejected(frame: Uint8Array, accept: (f: Uint8Array) => unknown): Record<string, number> {
    const codes: Record<string, number> = {};
    let count = 0;
    for (const [what, m] of mutations(frame)) {
      const e = sealsigErrorOf(() => accept(m));
      if (e === undefined) throw new Error(`mutation accepted: ${what}`);
      codes[e.code] = (codes[e.code] ?? 0) + 1;
      count++;
    }
    expect(count).toBe(frame.length * 10 + 256);
    return codes;
  }

  it('broadcast frames (decodeFrame + openBroadcast + verifyBroadcast)', () => {
    const secrets = deriveSession(createSessionId());
    const key = deriveEpochKeys(0, secrets.roomKey0).broadcastKey;
    const signer = ed25519KeyPair();
    const header = sampleHeader(FrameKind.broadcast, {
      route: secrets.routeTag,
      sender: memberIdOf(secrets.memberIdKey, signer.publicKey),
      counter: 300,
      epoch: 7,
    });
    const frame = sealBroadcast({ header, key, signingKey: signer.privateKey, type: 3, payload: { sdp: 'v=0', n: [1, 2, 3] } });
    const accept = (f: Uint8Array) => {
      const opened = openBroadcast(decodeFrame(f), key);
      if (!verifyBroadcast(opened, signer.publicKey)) throw new SealsigError('E_AUTH_FAILED', 'bad signature');
      return opened;
    };
    expect(accept(frame).payload).toEqual({ sdp: 'v=0', n: [1, 2, 3] });
    const codes = expectAllRejected(frame, accept);
    expect(Object.keys(codes).sort()).toEqual(expect.arrayContaining(['E_AUTH_FAILED', 'E_FRAME_MALFORMED', 'E_VERSION']));
    expect(accept(frame).payload).toEqual({ sdp: 'v=0', n: [1, 2, 3] }); // still fine afterwards
  });

  it('direct frames of a real Noise channel (decodeFrame + ChannelKeys.open)', () => {
    const ch = realChannel();
    // Advance the channel a little so that the counter is not 0.
    for (let i = 0; i < 3; i++) ch.bKeys.open(decodeFrame(ch.aKeys.seal(ch.header(FrameKind.direct, ch.a, ch.b, ch.aKeys.nextCounter()), 1, i)));
    const frame = ch.aKeys.seal(ch.header(FrameKind.direct, ch.a, ch.b, ch.aKeys.nextCounter()), 1, { candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host' });
    const codes = expectAllRejected(frame, (f) => ch.bKeys.open(decodeFrame(f)));
    // A failed open never moves the window: the original still opens, exactly once.
    expect(ch.bKeys.open(decodeFrame(frame)).payload).toEqual({ candidate: 'candidate:1 1 udp 1 198.18.0.1 5000 typ host' });
    expectCode(() => ch.bKeys.open(decodeFrame(frame)), 'E_REPLAY');
    expect(codes.E_AUTH_FAILED).toBeGreaterThan(frame.length * 4);
  });

  it('handshake init frames (decodeFrame + a fresh responder)', () => {
    const ch = realChannel();
    const accept = (f: Uint8Array) => readHandshakeFrame(ch.freshResponder(), decodeFrame(f), ch.tagKey);
    accept(ch.init); // the genuine frame is accepted by a fresh responder
    expectAllRejected(ch.init, accept);
  });
});

// --- 3. padding ----------------------------------------------------------------------------------------

describe('padding', () => {
  it('unpad(pad(x)) = x, and pad(x) has paddedLength(x.length) bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 100_000 }).map((n) => filler(n))), (x) => {
        const p = pad(x);
        expect(p.length).toBe(paddedLength(x.length));
        expectBytes(unpad(p), x);
      }),
      { numRuns: 500 },
    );
  });

  it('paddedLength is monotonic, at least 256, at most 1.13 (n + 1), and a fixed point of its buckets', () => {
    const len = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 31 - 2 }));
    fc.assert(
      fc.property(len, len, (n, m) => {
        const [lo, hi] = n <= m ? [n, m] : [m, n];
        expect(paddedLength(lo)).toBeLessThanOrEqual(paddedLength(hi));
        const p = paddedLength(n);
        expect(p).toBeGreaterThanOrEqual(MIN_BUCKET);
        expect(p).toBeGreaterThanOrEqual(n + 1);
        if (n + 1 >= MIN_BUCKET) expect(p).toBeLessThanOrEqual(1.13 * (n + 1));
        // A bucket is its own bucket: the largest content of a bucket pads to the same bucket.
        expect(paddedLength(p - 1)).toBe(p);
        expect(padme(padme(n + 1))).toBe(padme(n + 1));
      }),
      { numRuns: 2000 },
    );
    // Exhaustively near the small end.
    let prev = 0;
    for (let n = 0; n < 70_000; n++) {
      const p = paddedLength(n);
      expect(p >= prev && p >= 256 && p > n).toBe(true);
      if (n + 1 >= 256 && p > 1.13 * (n + 1)) throw new Error(`overhead too large at ${n}`);
      prev = p;
    }
  });

  it('unpad accepts only exact paddings: whatever it accepts is pad() of the result', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          // almost-valid buffers: a valid padding with one byte changed or the length changed
          fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(255), fc.integer({ min: -2, max: 2 })).map(([x, at, v, dl]) => {
            const p = [...pad(x)];
            p[at % p.length] = v;
            if (dl > 0) p.push(...new Array<number>(dl).fill(0));
            else if (dl < 0) p.length += dl;
            return Uint8Array.from(p);
          }),
        ),
        (buf) => {
          const e = sealsigErrorOf(() => unpad(buf));
          if (e === undefined) expectBytes(pad(unpad(buf)), buf);
          else expect(e.code).toBe('E_FRAME_MALFORMED');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// --- 4. the replay window against a model ------------------------------------------------------------------

describe('replay window', () => {
  /** Steps: a counter relative to the highest seen, an absolute one, or a far jump. */
  type Step = { rel: number } | { abs: number } | { jump: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -1100, max: 40 }).map((d): Step => ({ rel: d })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((n): Step => ({ abs: n })) },
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 1000, max: 5000 }), fc.maxSafeNat()).map((d): Step => ({ jump: d })) },
    { weight: 1, arbitrary: fc.constantFrom<Step>({ abs: 0 }, { abs: MAX_SAFE_COUNTER }, { rel: 0 }, { rel: -1023 }, { rel: -1024 }, { rel: -1025 }, { rel: -127 }, { rel: -128 }) },
  );

  it('agrees with a Set-based model for arbitrary counter sequences', () => {
    fc.assert(
      fc.property(fc.constantFrom(128, 1024, 160), fc.array(fc.tuple(step, fc.boolean()), { maxLength: 400 }), (size, steps) => {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let top = -1;
        for (const [s, doAccept] of steps) {
          let n: number;
          if ('rel' in s) n = top + s.rel;
          else if ('abs' in s) n = s.abs;
          else n = top + s.jump;
          n = Math.max(0, Math.min(MAX_SAFE_COUNTER, n));
          const expected = n <= top - size ? 'too-old' : seen.has(n) ? 'duplicate' : 'ok';
          expect(w.check(n)).toBe(expected);
          expect(w.check(n)).toBe(expected); // check never changes state
          if (expected === 'ok' && doAccept) {
            w.accept(n);
            seen.add(n);
            top = Math.max(top, n);
            expect(w.highest).toBe(top);
            expect(w.check(n)).toBe('duplicate');
          }
        }
        // Everything inside the final window agrees with the model.
        for (let n = Math.max(0, top - size - 3); n <= Math.min(top + 3, MAX_SAFE_COUNTER); n++) {
          expect(w.check(n)).toBe(n <= top - size ? 'too-old' : seen.has(n) ? 'duplicate' : 'ok');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with fc.commands: accept/check against the model', () => {
    interface Model {
      seen: Set<number>;
      top: number;
      size: number;
    }
    const verdict = (m: Model, n: number) => (n <= m.top - m.size ? 'too-old' : m.seen.has(n) ? 'duplicate' : 'ok');
    class Accept implements fc.Command<Model, ReplayWindow> {
      constructor(readonly delta: number) {}
      check = () => true;
      run(m: Model, w: ReplayWindow) {
        const n = Math.max(0, Math.min(MAX_SAFE_COUNTER, m.top + this.delta));
        const v = verdict(m, n);
        expect(w.check(n)).toBe(v);
        if (v === 'ok') {
          w.accept(n);
          m.seen.add(n);
          m.top = Math.max(m.top, n);
        }
        expect(w.check(n)).toBe(verdict(m, n));
        expect(w.highest).toBe(m.top);
      }
      toString = () => `accept(top${this.delta >= 0 ? '+' : ''}${this.delta})`;
    }
    class Probe implements fc.Command<Model, ReplayWindow> {
      constructor(readonly delta: number) {}
      check = () => true;
      run(m: Model, w: ReplayWindow) {
        const n = Math.max(0, m.top + this.delta);
        expect(w.check(n)).toBe(verdict(m, n));
      }
      toString = () => `check(top${this.delta >= 0 ? '+' : ''}${this.delta})`;
    }
    const delta = fc.oneof(fc.integer({ min: -140, max: 20 }), fc.integer({ min: -1, max: 200 }), fc.constantFrom(-128, -127, 1, 128, 129, 1_000_000));
    const commands = [delta.map((d) => new Accept(d)), delta.map((d) => new Probe(d))];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 300, size: 'large' }), (cmds) => {
        fc.modelRun(() => ({ model: { seen: new Set<number>(), top: -1, size: 128 }, real: new ReplayWindow(128) }), cmds);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses sizes that are not multiples of 32 or below 128', () => {
    for (const s of [0, 32, 96, 127, 129, 1000, 100.5, Number.NaN]) expect(() => new ReplayWindow(s)).toThrow(RangeError);
  });
});
