/**
 * Relay wire protocol v1 (PROTOCOL-RELAY.md): opcodes, error and close codes, and the codecs. Every decoder
 * checks lengths before it reads and never throws; a bad message yields a `{ kind: 'error' }` result.
 */

/** The WebSocket subprotocol clients offer. */
export const SUBPROTOCOL = 'sealsig-relay.1';

export const Op = {
  subscribe: 0x01,
  unsubscribe: 0x02,
  publish: 0x03,
  deliver: 0x10,
  subscribed: 0x11,
  error: 0x12,
} as const;

/** Non-fatal ERROR codes (PROTOCOL-RELAY.md §4). */
export const ErrorCode = {
  badTopic: 1,
  rateLimited: 2,
  tooManyTopics: 3,
  frameTooLarge: 4,
  notAllowed: 5,
  malformed: 6,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the relay uses (PROTOCOL-RELAY.md §5). */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  badToken: 4001,
  flood: 4008,
  slowConsumer: 4010,
} as const;

export const MAX_TOPIC_BYTES = 64;
/** Bytes a PUBLISH/DELIVER adds around its frame at most: opcode, topic length, 64-byte topic. */
export const MAX_OVERHEAD_BYTES = 2 + MAX_TOPIC_BYTES;

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

export type Inbound =
  | { kind: 'subscribe'; topic: string }
  | { kind: 'unsubscribe'; topic: string }
  /** `frameStart`: offset of the frame in the message; the topic ends there. */
  | { kind: 'publish'; topic: string; frameStart: number; frameBytes: number }
  | { kind: 'error'; code: ErrorCodeValue; topic: string; reason: string };

/** Decodes one client message. Never throws. */
export function decodeInbound(msg: Uint8Array): Inbound {
  if (msg.length < 1) return { kind: 'error', code: ErrorCode.malformed, topic: '', reason: 'empty message' };
  const op = msg[0]!;
  if (op === Op.subscribe || op === Op.unsubscribe) {
    if (!isTopicBytes(msg, 1, msg.length)) return { kind: 'error', code: ErrorCode.badTopic, topic: '', reason: 'bad topic' };
    const topic = ascii(msg, 1, msg.length);
    return op === Op.subscribe ? { kind: 'subscribe', topic } : { kind: 'unsubscribe', topic };
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

/** [op][topic] (SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBED). */
export function encodeTopicMessage(op: number, topic: string): Buffer {
  const out = Buffer.allocUnsafe(1 + topic.length);
  out[0] = op;
  out.write(topic, 1, 'latin1');
  return out;
}

/** [op][len][topic][frame] (PUBLISH, DELIVER). */
export function encodeFrameMessage(op: number, topic: string, frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + topic.length + frame.length);
  out[0] = op;
  out[1] = topic.length;
  out.write(topic, 2, 'latin1');
  out.set(frame, 2 + topic.length);
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

export type Outbound =
  | { kind: 'deliver'; topic: string; frame: Uint8Array }
  | { kind: 'subscribed'; topic: string }
  | { kind: 'error'; code: number; topic: string; reason: string }
  | { kind: 'invalid' };

/** Decodes one relay message (for clients and tests). Never throws. */
export function decodeOutbound(msg: Uint8Array): Outbound {
  if (msg.length < 1) return { kind: 'invalid' };
  const op = msg[0]!;
  if (op === Op.subscribed) {
    return isTopicBytes(msg, 1, msg.length) ? { kind: 'subscribed', topic: ascii(msg, 1, msg.length) } : { kind: 'invalid' };
  }
  if (op === Op.deliver) {
    if (msg.length < 2) return { kind: 'invalid' };
    const end = 2 + msg[1]!;
    if (end > msg.length || !isTopicBytes(msg, 2, end)) return { kind: 'invalid' };
    return { kind: 'deliver', topic: ascii(msg, 2, end), frame: msg.subarray(end) };
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
