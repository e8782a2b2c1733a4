/**
 * Relay wire protocol v2 (PROTOCOL-RELAY.md): opcodes, error and close codes, and the codecs. Every decoder
 * checks lengths before it reads and never throws; a bad message yields a `{ kind: 'error' }` result.
 */
import { EPOCH_BYTES, OFFSET_BYTES, type Offset, type Position } from './engine.js';
import type { RateLimit } from './rate-limit.js';

/** The WebSocket subprotocol clients offer (§1). */
export const SUBPROTOCOL = 'sealsig-relay.2';

/** The opcodes of relay wire protocol v2, in a message's first byte (PROTOCOL-RELAY.md §3). */
export const Op = {
  /** SUBSCRIBE: client asks for a topic's frames (§3.1). */
  subscribe: 0x01,
  /** UNSUBSCRIBE: client stops a subscription. */
  unsubscribe: 0x02,
  /** PUBLISH: client sends a frame to a topic. */
  publish: 0x03,
  /** DELIVER: relay sends a frame of a subscribed topic, with its position. */
  deliver: 0x10,
  /** SUBSCRIBED: relay confirms a subscription (§3.2). */
  subscribed: 0x11,
  /** ERROR: relay reports a non-fatal error on a topic (§3.3). */
  error: 0x12,
  /** ACK: every PUBLISH up to a sequence number is settled (stored, or refused by an earlier NACK). */
  ack: 0x13,
  /** NACK: relay refuses one PUBLISH, with a code. */
  nack: 0x14,
  /** LIMITS: relay announces the connection's rate limits and frame size (§3.5). */
  limits: 0x15,
} as const;

/** SUBSCRIBED flags (§3.2). */
export const RECOVERED = 0x01;

/** Non-fatal ERROR and NACK codes (PROTOCOL-RELAY.md §3.3). */
export const ErrorCode = {
  /** The topic is not 1 to 64 base64url characters. */
  badTopic: 1,
  /** The client is over its rate limit. */
  rateLimited: 2,
  /** The connection has too many subscriptions. */
  tooManyTopics: 3,
  /** The frame is over the relay's limit. */
  frameTooLarge: 4,
  /** The admission token does not allow this topic. */
  notAllowed: 5,
  /** The message could not be decoded. */
  malformed: 6,
  /** NACK only: the relay cannot store the frame now (its engine is unavailable, or it is draining); send it again. */
  unavailable: 7,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the relay uses (PROTOCOL-RELAY.md §5). */
export const CloseCode = {
  /** Going away: the connection missed a pong. */
  goingAway: 1001,
  /** The client sent a text message. */
  unsupportedData: 1003,
  /** The Origin is not on the relay's allowlist. */
  policyViolation: 1008,
  /** A message over the relay's limit. */
  messageTooBig: 1009,
  /** Service restart: the relay is shutting down gracefully; reconnect. */
  serviceRestart: 1012,
  /** Too many connections (overall or from this address): reconnect with backoff. */
  tryAgainLater: 1013,
  /** The admission token is missing, invalid or expired. */
  badToken: 4001,
  /** Rate limit exceeded persistently (flood). */
  flood: 4008,
  /** The client reads too slowly: its send buffer is full. */
  slowConsumer: 4010,
  /** The client did not offer the subprotocol of this version (§1). */
  version: 4002,
} as const;

/** Longest topic, in bytes (PROTOCOL-RELAY.md §2). */
export const MAX_TOPIC_BYTES = 64;
/** Bytes a PUBLISH adds around its frame at most: opcode, topic length, 64-byte topic. */
export const MAX_OVERHEAD_BYTES = 2 + MAX_TOPIC_BYTES;
/** Bytes of a position (§3.4): epoch, then offset. */
export const POSITION_BYTES = EPOCH_BYTES + OFFSET_BYTES;

/** True for 1..64 bytes of ASCII [A-Za-z0-9_-]. */
export function isTopicBytes(bytes: Uint8Array, start: number, end: number): boolean {
  const len = end - start;
  if (len < 1 || len > MAX_TOPIC_BYTES) return false;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    const ok =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** True for a string that is a valid topic. */
export function isTopic(topic: string): boolean {
  if (typeof topic !== 'string' || topic.length < 1 || topic.length > MAX_TOPIC_BYTES) return false;
  return /^[A-Za-z0-9_-]+$/.test(topic);
}

/** Topic bytes are ASCII, so latin1 decoding is exact and cheap. */
function ascii(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** A decoded client message. */
export type Inbound =
  /** `since`: the position the client resumes from (§3.4), absent for a first subscription. */
  | {
    /** The message type. */
    kind: 'subscribe';
    /** The topic. */
    topic: string;
    /** The position to resume from, or undefined. */
    since: Position | undefined;
  }
  | {
    /** The message type. */
    kind: 'unsubscribe';
    /** The topic. */
    topic: string;
  }
  /** `frameStart`: offset of the frame in the message; the topic ends there. */
  | {
    /** The message type. */
    kind: 'publish';
    /** The topic. */
    topic: string;
    /** Offset of the frame in the message. */
    frameStart: number;
    /** Length of the frame. */
    frameBytes: number;
  }
  | {
    /** The message type. */
    kind: 'error';
    /** The error code. */
    code: ErrorCodeValue;
    /** The topic. */
    topic: string;
    /** Why, in words. */
    reason: string;
  };

/** Decodes one client message. Never throws. */
export function decodeInbound(msg: Uint8Array): Inbound {
  if (msg.length < 1) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'empty message' };
  const op = msg[0]!;
  if (op === Op.subscribe) {
    if (msg.length < 2) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'truncated subscribe' };
    const end = 2 + msg[1]!;
    if (end > msg.length || (msg.length !== end && msg.length !== end + POSITION_BYTES)) {
      return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'subscribe of a bad length' };
    }
    if (!isTopicBytes(msg, 2, end)) return { kind: 'error', code: ErrorCode.badTopic, topic: '', reason: 'bad topic' };
    const since = msg.length === end ? undefined : readPosition(msg, end);
    if (since === null) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'bad offset' };
    return { kind: 'subscribe', topic: ascii(msg, 2, end), since };
  }
  if (op === Op.unsubscribe) {
    if (!isTopicBytes(msg, 1, msg.length)) return { kind: 'error', code: ErrorCode.badTopic, topic: '', reason: 'bad topic' };
    return { kind: 'unsubscribe', topic: ascii(msg, 1, msg.length) };
  }
  if (op === Op.publish) {
    if (msg.length < 2) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'truncated publish' };
    const len = msg[1]!;
    const end = 2 + len;
    if (end > msg.length) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'truncated publish' }; // an empty frame is allowed
    if (!isTopicBytes(msg, 2, end)) return { kind: 'error', code: ErrorCode.badTopic, topic: '', reason: 'bad topic' };
    return { kind: 'publish', topic: ascii(msg, 2, end), frameStart: end, frameBytes: msg.length - end };
  }
  return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'unknown opcode' };
}

/** An offset as 16 bytes: u64be ms, u64be seq (§3.4). */
function writeOffset(out: Buffer, at: number, o: Offset): void {
  writeU64(out, at, o.ms);
  writeU64(out, at + 8, o.seq);
}

const TWO_32 = 2 ** 32;

/** A safe non-negative integer as u64be, in two u32 halves (no BigInt on the DELIVER hot path). */
function writeU64(out: Buffer, at: number, x: number): void {
  const high = Math.floor(x / TWO_32);
  out.writeUInt32BE(high, at);
  out.writeUInt32BE(x - high * TWO_32, at + 4);
}

/** A position at `at` (epoch, offset), or null when an offset half is not a safe integer. */
function readPosition(msg: Uint8Array, at: number): Position | null {
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
  const ms = b.readBigUInt64BE(at + EPOCH_BYTES);
  const seq = b.readBigUInt64BE(at + EPOCH_BYTES + 8);
  if (ms > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { epoch: msg.slice(at, at + EPOCH_BYTES), offset: { ms: Number(ms), seq: Number(seq) } };
}

/** [op][topic] (UNSUBSCRIBE). */
export function encodeTopicMessage(op: number, topic: string): Buffer {
  const out = Buffer.allocUnsafe(1 + topic.length);
  out[0] = op;
  out.write(topic, 1, 'latin1');
  return out;
}

/** [0x01][len][topic] or [0x01][len][topic][epoch][offset] (§3.1). */
export function encodeSubscribe(topic: string, since?: Position): Buffer {
  const out = Buffer.alloc(2 + topic.length + (since ? POSITION_BYTES : 0));
  out[0] = Op.subscribe;
  out[1] = topic.length;
  out.write(topic, 2, 'latin1');
  if (since) {
    out.set(since.epoch, 2 + topic.length);
    writeOffset(out, 2 + topic.length + EPOCH_BYTES, since.offset);
  }
  return out;
}

/** [0x03][len][topic][frame] (§3.1). */
export function encodePublish(topic: string, frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + topic.length + frame.length);
  out[0] = Op.publish;
  out[1] = topic.length;
  out.write(topic, 2, 'latin1');
  out.set(frame, 2 + topic.length);
  return out;
}

/** [0x10][len][topic][epoch][offset][frame] (§3.2). */
export function encodeDeliver(topic: string, epoch: Uint8Array, offset: Offset, frame: Uint8Array): Buffer {
  const at = 2 + topic.length;
  const out = Buffer.allocUnsafe(at + POSITION_BYTES + frame.length);
  out[0] = Op.deliver;
  out[1] = topic.length;
  out.write(topic, 2, 'latin1');
  out.set(epoch, at);
  writeOffset(out, at + EPOCH_BYTES, offset);
  out.set(frame, at + POSITION_BYTES);
  return out;
}

/** [0x11][len][topic][epoch][head offset][flags] (§3.2). */
export function encodeSubscribed(topic: string, epoch: Uint8Array, head: Offset, recovered: boolean): Buffer {
  const at = 2 + topic.length;
  const out = Buffer.allocUnsafe(at + POSITION_BYTES + 1);
  out[0] = Op.subscribed;
  out[1] = topic.length;
  out.write(topic, 2, 'latin1');
  out.set(epoch, at);
  writeOffset(out, at + EPOCH_BYTES, head);
  out[at + POSITION_BYTES] = recovered ? RECOVERED : 0;
  return out;
}

/** §3.1 Sequence numbers go on the wire modulo 2^32 (`seq`: the count, any safe integer >= 0). */
export const SEQ_MODULUS = 2 ** 32;

/** [0x13][seq mod 2^32, u32be] (§3.2): every PUBLISH up to seq is settled. */
export function encodeAck(seq: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out[0] = Op.ack;
  out.writeUInt32BE(seq % SEQ_MODULUS, 1);
  return out;
}

/** [0x14][seq mod 2^32, u32be][code u16be] (§3.2): PUBLISH seq was not stored. */
export function encodeNack(seq: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(7);
  out[0] = Op.nack;
  out.writeUInt32BE(seq % SEQ_MODULUS, 1);
  out.writeUInt16BE(code, 5);
  return out;
}

/** [0x12][code u16be][len][topic][utf8 reason]. */
export function encodeError(code: number, topic: string, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason.slice(0, 200), 'utf8');
  const out = Buffer.allocUnsafe(4 + topic.length + reasonBytes.length);
  out[0] = Op.error;
  out.writeUInt16BE(code, 1);
  out[3] = topic.length;
  out.write(topic, 4, 'latin1');
  out.set(reasonBytes, 4 + topic.length);
  return out;
}

/** §3.5 Bytes of a LIMITS message: the opcode and five u32 fields. */
export const LIMITS_BYTES = 21;
/** §3.5 Rates go on the wire in thousandths of a message per second. */
export const MILLI = 1000;
const U32_MAX = 2 ** 32 - 1;

/** What a LIMITS message announces (§3.5): the connection's token buckets and largest frame. */
export interface AnnouncedLimits {
  /** PUBLISH (and malformed) messages: the bucket's refill per second and size. */
  publish: RateLimit;
  /** SUBSCRIBE and UNSUBSCRIBE messages. */
  subscribe: RateLimit;
  /** The largest frame a PUBLISH may carry, in bytes. */
  maxFrameBytes: number;
}

/**
 * §3.5 A rate in thousandths per second, rounded down (a client that keeps to it keeps to the real one), 1..2^32-1.
 * A product within 1e-6 of an integer is that integer: 4202692.06 * 1000 is 4202692059.9999995 in floating point.
 */
function milliRate(perSecond: number): number {
  const x = perSecond * MILLI;
  const near = Math.round(x);
  return Math.min(U32_MAX, Math.max(1, Math.abs(x - near) < 1e-6 ? near : Math.floor(x)));
}

/** §3.5 A count rounded down, 1..2^32-1. */
function count(n: number): number {
  return Math.min(U32_MAX, Math.max(1, Math.floor(n)));
}

/** [0x15][publish milli-rate][publish burst][subscribe milli-rate][subscribe burst][max frame bytes], u32be each (§3.5). */
export function encodeLimits(l: AnnouncedLimits): Buffer {
  const out = Buffer.allocUnsafe(LIMITS_BYTES);
  out[0] = Op.limits;
  out.writeUInt32BE(milliRate(l.publish.perSecond), 1);
  out.writeUInt32BE(count(l.publish.burst), 5);
  out.writeUInt32BE(milliRate(l.subscribe.perSecond), 9);
  out.writeUInt32BE(count(l.subscribe.burst), 13);
  out.writeUInt32BE(count(l.maxFrameBytes), 17);
  return out;
}

/** A decoded relay message. */
export type Outbound =
  | {
    /** The message type. */
    kind: 'deliver';
    /** The topic. */
    topic: string;
    /** The frame's position in the topic's stream. */
    position: Position;
    /** The frame. */
    frame: Uint8Array;
  }
  | {
    /** The message type. */
    kind: 'subscribed';
    /** The topic. */
    topic: string;
    /** The stream's position when the subscription went live. */
    head: Position;
    /** Whether the position asked for was honoured. */
    recovered: boolean;
  }
  | {
    /** The message type. */
    kind: 'error';
    /** The error code. */
    code: number;
    /** The topic. */
    topic: string;
    /** Why, in words. */
    reason: string;
  }
  | {
    /** The message type. */
    kind: 'ack';
    /** The sequence number of the PUBLISH. */
    seq: number;
  }
  | {
    /** The message type. */
    kind: 'nack';
    /** The sequence number of the PUBLISH. */
    seq: number;
    /** The error code. */
    code: number;
  }
  | {
    /** The message type. */
    kind: 'limits';
    /** The announced limits (rates in messages per second). */
    limits: AnnouncedLimits;
  }
  | {
    /** The message type. */
    kind: 'invalid';
  };

/** Decodes one relay message (for clients and tests). Never throws. */
export function decodeOutbound(msg: Uint8Array): Outbound {
  if (msg.length < 1) return { kind: 'invalid' };
  const op = msg[0]!;
  if (op === Op.subscribed) {
    if (msg.length < 2) return { kind: 'invalid' };
    const end = 2 + msg[1]!;
    if (msg.length !== end + POSITION_BYTES + 1 || !isTopicBytes(msg, 2, end)) return { kind: 'invalid' };
    const head = readPosition(msg, end);
    if (head === null) return { kind: 'invalid' };
    return { kind: 'subscribed', topic: ascii(msg, 2, end), head, recovered: (msg[end + POSITION_BYTES]! & RECOVERED) !== 0 };
  }
  if (op === Op.deliver) {
    if (msg.length < 2) return { kind: 'invalid' };
    const end = 2 + msg[1]!;
    if (end + POSITION_BYTES > msg.length || !isTopicBytes(msg, 2, end)) return { kind: 'invalid' };
    const position = readPosition(msg, end);
    if (position === null) return { kind: 'invalid' };
    return { kind: 'deliver', topic: ascii(msg, 2, end), position, frame: msg.subarray(end + POSITION_BYTES) };
  }
  if (op === Op.ack) {
    if (msg.length !== 5) return { kind: 'invalid' };
    return { kind: 'ack', seq: Buffer.from(msg.buffer, msg.byteOffset, msg.length).readUInt32BE(1) };
  }
  if (op === Op.nack) {
    if (msg.length !== 7) return { kind: 'invalid' };
    const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
    return { kind: 'nack', seq: b.readUInt32BE(1), code: b.readUInt16BE(5) };
  }
  if (op === Op.limits) {
    if (msg.length !== LIMITS_BYTES) return { kind: 'invalid' };
    const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
    const f = [1, 5, 9, 13, 17].map((at) => b.readUInt32BE(at));
    if (f.includes(0)) return { kind: 'invalid' };
    return {
      kind: 'limits',
      limits: { publish: { perSecond: f[0]! / MILLI, burst: f[1]! }, subscribe: { perSecond: f[2]! / MILLI, burst: f[3]! }, maxFrameBytes: f[4]! },
    };
  }
  if (op === Op.error) {
    if (msg.length < 4) return { kind: 'invalid' };
    const code = (msg[1]! << 8) | msg[2]!;
    const end = 4 + msg[3]!;
    if (end > msg.length) return { kind: 'invalid' };
    const topic = ascii(msg, 4, end);
    const reason = Buffer.from(msg.buffer, msg.byteOffset + end, msg.length - end).toString('utf8');
    return { kind: 'error', code, topic, reason };
  }
  return { kind: 'invalid' };
}
