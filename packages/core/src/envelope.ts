/**
 * The envelope (docs/PROTOCOL.md §4): one msgpack array of 11 elements, always in canonical form.
 *
 *   [0] version   uint      = 3
 *   [1] suite     uint      = 1   (Ed25519, X25519, XChaCha20-Poly1305, Noise_KKpsk0_25519_ChaChaPoly_BLAKE2b)
 *   [2] kind      uint      1 broadcast | 2 handshake-init | 3 handshake-resp | 4 direct
 *   [3] route     bin(16)   the session's route tag (session binding)
 *   [4] sender    bin(16)   sender member id
 *   [5] instance  bin(8)    sender instance (random per join)
 *   [6] recipient bin(16) | nil   nil exactly for broadcasts
 *   [7] epoch     uint32
 *   [8] counter   uint < 2^53
 *   [9] timestamp uint < 2^53, milliseconds since the Unix epoch
 *   [10] body     bin
 *
 * The header is elements 0..9: the AEAD's associated data is the frame's bytes from its first byte up to,
 * not including, element 10. Integers use the shortest msgpack encoding, bins the shortest bin format; a
 * decoder accepts nothing else, so one header has exactly one byte string and any bit flip is detected.
 * This module is a hand-written decoder for exactly this shape: it checks each length against the
 * remaining input before it reads or allocates.
 */
import { fail } from './errors.js';
import { MEMBER_ID_BYTES, ROUTE_TAG_BYTES } from './kdf.js';

/** The wire format version in every frame header (§4.1). */
export const PROTOCOL_VERSION = 3;
/** The cipher suite of version 3 (§4.1, §11). */
export const SUITE_V1 = 1;
export const INSTANCE_BYTES = 8;
/** The default largest frame a session sends or accepts: 64 KiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
export const MAX_SAFE_COUNTER = Number.MAX_SAFE_INTEGER;

/** The frame kinds of the header (§4.1). */
export const FrameKind = {
  /** Sealed with the room key and signed: hellos, byes, app broadcasts, init requests (§6). */
  broadcast: 1,
  /** The first Noise message of a pairwise handshake (§7.2). */
  handshakeInit: 2,
  /** The second Noise message of a pairwise handshake (§7.2). */
  handshakeResp: 3,
  /** A direct message on an established pairwise channel (§7.3). */
  direct: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** The clear header of a frame (§4.1): authenticated as associated data, not encrypted. */
export interface Header {
  /** Wire format version (PROTOCOL_VERSION). */
  version: number;
  /** Cipher suite (SUITE_V1). */
  suite: number;
  /** What the body holds. */
  kind: FrameKind;
  /** The session's route tag (§3.3). */
  route: Uint8Array;
  /** The sender's member id. */
  sender: Uint8Array;
  /** The sender's instance id (one per join). */
  instance: Uint8Array;
  /** The recipient's member id, or null for a frame to every member. */
  recipient: Uint8Array | null;
  /** The epoch whose keys sealed the frame (§9). */
  epoch: number;
  /** Per-sender counter (§6.3, §7.3). */
  counter: number;
  /** The sender's clock, milliseconds since the Unix epoch (checked for freshness, §8.1). */
  timestamp: number;
}

/** A frame split into its header, the header bytes (associated data) and the body. */
export interface DecodedFrame {
  /** The decoded header. */
  header: Header;
  /** The associated data: the frame's header bytes (a view into the frame). */
  ad: Uint8Array;
  /** The body (a view into the frame). */
  body: Uint8Array;
}

// --- encoding ---------------------------------------------------------------------------------------

class Writer {
  readonly view: DataView;
  pos = 0;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  byte(b: number) {
    this.buf[this.pos++] = b;
  }
  uint(n: number) {
    if (n < 0x80) this.byte(n);
    else if (n < 0x100) (this.byte(0xcc), this.byte(n));
    else if (n < 0x10000) (this.byte(0xcd), this.view.setUint16(this.pos, n), (this.pos += 2));
    else if (n < 0x100000000) (this.byte(0xce), this.view.setUint32(this.pos, n), (this.pos += 4));
    else {
      this.byte(0xcf);
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000));
      this.view.setUint32(this.pos + 4, n >>> 0);
      this.pos += 8;
    }
  }
  binHead(len: number) {
    if (len < 0x100) (this.byte(0xc4), this.byte(len));
    else if (len < 0x10000) (this.byte(0xc5), this.view.setUint16(this.pos, len), (this.pos += 2));
    else (this.byte(0xc6), this.view.setUint32(this.pos, len), (this.pos += 4));
  }
  bin(b: Uint8Array) {
    this.binHead(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Headers are encoded into one scratch buffer (the longest header is 100 bytes), then copied out. */
const headerWriter = new Writer(new Uint8Array(112));

function checkUint(name: string, n: number, max: number) {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw fail('E_INVALID_ARGUMENT', `${name} out of range`);
}

/** §4.1 The header bytes (also the AEAD associated data) of a frame. */
export function encodeHeader(h: Header): Uint8Array {
  checkUint('version', h.version, 0xffffffff);
  checkUint('suite', h.suite, 0xffffffff);
  checkUint('epoch', h.epoch, 0xffffffff);
  checkUint('counter', h.counter, MAX_SAFE_COUNTER);
  checkUint('timestamp', h.timestamp, MAX_SAFE_COUNTER);
  if (h.route.length !== ROUTE_TAG_BYTES || h.sender.length !== MEMBER_ID_BYTES || h.instance.length !== INSTANCE_BYTES) {
    throw fail('E_INVALID_ARGUMENT', 'bad header field length');
  }
  if ((h.recipient === null) !== (h.kind === FrameKind.broadcast)) {
    throw fail('E_INVALID_ARGUMENT', 'recipient must be nil exactly for broadcasts');
  }
  if (h.recipient !== null && h.recipient.length !== MEMBER_ID_BYTES) throw fail('E_INVALID_ARGUMENT', 'bad recipient');
  const w = headerWriter;
  w.pos = 0;
  w.byte(0x9b); // fixarray of 11
  w.uint(h.version);
  w.uint(h.suite);
  w.uint(h.kind);
  w.bin(h.route);
  w.bin(h.sender);
  w.bin(h.instance);
  if (h.recipient === null) w.byte(0xc0);
  else w.bin(h.recipient);
  w.uint(h.epoch);
  w.uint(h.counter);
  w.uint(h.timestamp);
  return w.buf.slice(0, w.pos);
}

/** §4.1 A whole frame: the header bytes followed by the body as a bin. */
export function encodeFrame(headerBytes: Uint8Array, body: Uint8Array): Uint8Array {
  const binHead = body.length < 0x100 ? 2 : body.length < 0x10000 ? 3 : 5;
  const w = new Writer(new Uint8Array(headerBytes.length + binHead + body.length));
  w.buf.set(headerBytes, 0);
  w.pos = headerBytes.length;
  w.bin(body);
  return w.buf;
}

// --- decoding ---------------------------------------------------------------------------------------

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number) {
    if (this.pos + n > this.buf.length) throw fail('E_FRAME_MALFORMED', 'truncated frame');
  }
  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  /** A canonical msgpack unsigned integer no larger than max. */
  uint(max: number): number {
    const t = this.byte();
    let n: number;
    let min: number;
    if (t < 0x80) return t <= max ? t : this.tooBig();
    else if (t === 0xcc) (this.need(1), (n = this.buf[this.pos]!), (this.pos += 1), (min = 0x80));
    else if (t === 0xcd) (this.need(2), (n = this.view.getUint16(this.pos)), (this.pos += 2), (min = 0x100));
    else if (t === 0xce) (this.need(4), (n = this.view.getUint32(this.pos)), (this.pos += 4), (min = 0x10000));
    else if (t === 0xcf) {
      this.need(8);
      const hi = this.view.getUint32(this.pos);
      const lo = this.view.getUint32(this.pos + 4);
      this.pos += 8;
      if (hi > 0x1fffff) throw fail('E_FRAME_MALFORMED', 'integer above 2^53');
      n = hi * 0x100000000 + lo;
      min = 0x100000000;
    } else throw fail('E_FRAME_MALFORMED', 'expected an unsigned integer');
    if (n < min) throw fail('E_FRAME_MALFORMED', 'non-canonical integer encoding');
    return n <= max ? n : this.tooBig();
  }
  private tooBig(): never {
    throw fail('E_FRAME_MALFORMED', 'integer out of range');
  }
  /** A canonical msgpack bin; `exact` requires that length. Returns a view. */
  bin(exact?: number): Uint8Array {
    const t = this.byte();
    let len: number;
    let min: number;
    if (t === 0xc4) (this.need(1), (len = this.buf[this.pos]!), (this.pos += 1), (min = 0));
    else if (t === 0xc5) (this.need(2), (len = this.view.getUint16(this.pos)), (this.pos += 2), (min = 0x100));
    else if (t === 0xc6) (this.need(4), (len = this.view.getUint32(this.pos)), (this.pos += 4), (min = 0x10000));
    else throw fail('E_FRAME_MALFORMED', 'expected bin');
    if (len < min) throw fail('E_FRAME_MALFORMED', 'non-canonical bin encoding');
    if (exact !== undefined && len !== exact) throw fail('E_FRAME_MALFORMED', 'bin of the wrong length');
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

/** A decoded frame's bytes, copied (its ad and body are views into one buffer that the transport may reuse). */
export function frameBytes(f: DecodedFrame): Uint8Array {
  return new Uint8Array(f.ad.buffer, f.ad.byteOffset, f.body.byteOffset + f.body.length - f.ad.byteOffset).slice();
}

/**
 * §4.3 Decodes and validates a frame. Checks, in order: size limit, array head, version and suite
 * (E_VERSION), then each field's type, canonical form and range, then that nothing trails the body.
 */

export function decodeFrame(frame: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): DecodedFrame {
  if (!(frame instanceof Uint8Array)) throw fail('E_FRAME_MALFORMED', 'frame is not a Uint8Array');
  if (frame.length > maxFrameBytes) throw fail('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${maxFrameBytes}`);
  const r = new Reader(frame);
  if (r.byte() !== 0x9b) throw fail('E_FRAME_MALFORMED', 'not an array of 11 elements');
  const version = r.uint(0xffffffff);
  const suite = r.uint(0xffffffff);
  if (version !== PROTOCOL_VERSION) throw fail('E_VERSION', `unsupported protocol version ${version}`);
  if (suite !== SUITE_V1) throw fail('E_VERSION', `unsupported cipher suite ${suite}`);
  const kind = r.uint(0xff);
  if (kind < FrameKind.broadcast || kind > FrameKind.direct) throw fail('E_FRAME_MALFORMED', `unknown frame kind ${kind}`);
  const route = r.bin(ROUTE_TAG_BYTES);
  const sender = r.bin(MEMBER_ID_BYTES);
  const instance = r.bin(INSTANCE_BYTES);
  let recipient: Uint8Array | null = null;
  if (frame[r.pos] === 0xc0) r.pos++;
  else recipient = r.bin(MEMBER_ID_BYTES);
  if ((recipient === null) !== (kind === FrameKind.broadcast)) {
    throw fail('E_FRAME_MALFORMED', 'recipient must be nil exactly for broadcasts');
  }
  const epoch = r.uint(0xffffffff);
  const counter = r.uint(MAX_SAFE_COUNTER);
  const timestamp = r.uint(MAX_SAFE_COUNTER);
  const adEnd = r.pos;
  const body = r.bin();
  if (r.pos !== frame.length) throw fail('E_FRAME_MALFORMED', 'trailing bytes after the body');
  return {
    header: { version, suite, kind: kind as FrameKind, route, sender, instance, recipient, epoch, counter, timestamp },
    ad: frame.subarray(0, adEnd),
    body,
  };
}
