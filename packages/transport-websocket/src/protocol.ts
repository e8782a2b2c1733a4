/**
 * The client side of the sealsig relay wire protocol v2 (packages/relay/PROTOCOL-RELAY.md): binary WebSocket
 * messages, byte 0 = opcode. A position is 24 bytes: the stream's epoch (8) and an offset (16), kept and sent
 * back as they came.
 *
 *   client -> relay   0x01 SUBSCRIBE   [0x01][topic length u8][topic][position, when resuming]
 *                     0x02 UNSUBSCRIBE [0x02][topic]
 *                     0x03 PUBLISH     [0x03][topic length u8][topic][frame]   (the nth on a connection is seq n)
 *   relay -> client   0x10 DELIVER     [0x10][topic length u8][topic][position][frame]
 *                     0x11 SUBSCRIBED  [0x11][topic length u8][topic][head position][flags: bit 0 RECOVERED]
 *                     0x12 ERROR       [0x12][code u16 BE][topic length u8][topic][utf8 reason]
 *                     0x13 ACK         [0x13][seq u32 BE]          every PUBLISH up to seq is settled
 *                     0x14 NACK        [0x14][seq u32 BE][code u16 BE]   PUBLISH seq was not stored
 *                     0x15 LIMITS      [0x15][publish rate][publish burst][subscribe rate][subscribe burst][max frame]
 *                                      u32 BE each, rates in thousandths per second (§3.5)
 *
 * A topic is 1..64 bytes of ASCII [A-Za-z0-9_-] (a core route tag is 22 of them). The decoder is strict:
 * it checks the size limit before reading anything, then the opcode, lengths and topic charset, and
 * returns a result instead of throwing, so one bad message from a relay can only be dropped and reported.
 */
export const SUBPROTOCOL = 'sealsig-relay.2';

/** Bytes of a position: epoch (8) and offset (16). */
export const POSITION_BYTES = 24;
const EPOCH_BYTES = 8;

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

/** §3.5 Bytes of a LIMITS message: the opcode and five u32 fields. */
export const LIMITS_BYTES = 21;

/** A token bucket the relay announced (§3.5): `burst` messages at once, refilled at `perSecond`. */
export interface AnnouncedRate {
  /** Messages the bucket refills per second (a multiple of 0.001). */
  perSecond: number;
  /** The bucket's size. */
  burst: number;
}

/** ERROR codes a relay sends, by number. */
export const RelayErrorCodes = {
  /** The topic is not 1 to 64 base64url characters. */
  1: 'bad-topic',
  /** Over the rate limit. */
  2: 'rate-limited',
  /** Too many subscriptions on the connection. */
  3: 'too-many-topics',
  /** The frame is over the relay's limit. */
  4: 'frame-too-large',
  /** The admission token does not allow the topic. */
  5: 'not-allowed',
  /** The relay could not decode the message. */
  6: 'malformed',
  /** The relay cannot store the frame now; send it again. */
  7: 'unavailable',
} as const;

/** NACK codes after which the frame is sent again (rate limited, the relay cannot store it now). */
export const RETRYABLE_NACKS: ReadonlySet<number> = new Set([2, 7]);
/** The name of a relay error code, or 'unknown'. */
export type RelayErrorName = (typeof RelayErrorCodes)[keyof typeof RelayErrorCodes] | 'unknown';

/** Longest topic, in bytes (PROTOCOL-RELAY.md §2). */
export const MAX_TOPIC_BYTES = 64;
/** Longest ERROR reason this client reads; a longer ERROR message is malformed. */
export const MAX_REASON_BYTES = 1024;

const TOPIC_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether the topic is 1 to 64 base64url characters. */
export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && TOPIC_RE.test(topic);
}

function isTopicByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f;
}

function writeTopic(out: Uint8Array, at: number, topic: string): void {
  for (let i = 0; i < topic.length; i++) out[at + i] = topic.charCodeAt(i);
}

/** [0x02][topic]: UNSUBSCRIBE. The topic must have passed isValidTopic. */
export function encodeUnsubscribe(topic: string): Uint8Array {
  const out = new Uint8Array(1 + topic.length);
  out[0] = Op.unsubscribe;
  writeTopic(out, 1, topic);
  return out;
}

/** [0x01][topic length][topic][position]: SUBSCRIBE, resuming after `position` when given. */
export function encodeSubscribe(topic: string, position?: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + topic.length + (position ? POSITION_BYTES : 0));
  out[0] = Op.subscribe;
  out[1] = topic.length;
  writeTopic(out, 2, topic);
  if (position) out.set(position, 2 + topic.length);
  return out;
}

/** [0x03][topic length][topic][frame]. The topic must have passed isValidTopic. */
export function encodePublish(topic: string, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + topic.length + frame.length);
  out[0] = Op.publish;
  out[1] = topic.length;
  writeTopic(out, 2, topic);
  out.set(frame, 2 + topic.length);
  return out;
}

/** A decoded relay message. */
export type RelayMessage =
  /** `position`: the frame's place in the topic's stream (24 bytes, a copy). */
  | {
    /** The message type. */
    op: 'deliver';
    /** The topic. */
    topic: string;
    /** The frame's position in the topic's stream. */
    position: Uint8Array;
    /** The frame. */
    frame: Uint8Array;
  }
  /** `head`: the stream's position when the subscription went live; `recovered`: the position asked for was honoured. */
  | {
    /** The message type. */
    op: 'subscribed';
    /** The topic. */
    topic: string;
    /** The stream's position when the subscription went live. */
    head: Uint8Array;
    /** Whether the position asked for was honoured. */
    recovered: boolean;
  }
  | {
    /** The message type. */
    op: 'error';
    /** The error code. */
    code: number;
    /** The error code's name. */
    name: RelayErrorName;
    /** The topic. */
    topic: string;
    /** Why, in words. */
    reason: string;
  }
  | {
    /** The message type. */
    op: 'ack';
    /** The sequence number of the PUBLISH. */
    seq: number;
  }
  | {
    /** The message type. */
    op: 'limits';
    /** PUBLISH messages per connection. */
    publish: AnnouncedRate;
    /** SUBSCRIBE and UNSUBSCRIBE messages per connection. */
    subscribe: AnnouncedRate;
    /** The largest frame the relay stores. */
    maxFrameBytes: number;
  }
  | {
    /** The message type. */
    op: 'nack';
    /** The sequence number of the PUBLISH. */
    seq: number;
    /** The error code. */
    code: number;
    /** The error code's name. */
    name: RelayErrorName;
  };

/** The result of decoding a relay message: the message, or why it is malformed. */
export type DecodeResult = {
  /** Whether decoding succeeded. */
  ok: true;
  /** The decoded message. */
  message: RelayMessage;
} | {
  /** Whether decoding succeeded. */
  ok: false;
  /** Why, in words. */
  reason: string;
};

const bad = (reason: string): DecodeResult => ({ ok: false, reason });

function readTopic(bytes: Uint8Array, start: number, length: number): string | undefined {
  if (length < 1 || length > MAX_TOPIC_BYTES || start + length > bytes.length) return undefined;
  let s = '';
  for (let i = start; i < start + length; i++) {
    const b = bytes[i]!;
    if (!isTopicByte(b)) return undefined;
    s += String.fromCharCode(b);
  }
  return s;
}

/** The largest message the relay may send: a DELIVER of the largest frame, or an ERROR with the longest reason. */
export function maxRelayMessageBytes(maxFrameBytes: number): number {
  return Math.max(2 + MAX_TOPIC_BYTES + POSITION_BYTES + maxFrameBytes, 4 + MAX_TOPIC_BYTES + MAX_REASON_BYTES);
}

/**
 * Decodes one relay -> client message. `maxFrameBytes` bounds a DELIVER's frame; the whole message may
 * not exceed the largest valid message (a DELIVER of that frame, or an ERROR with the longest reason).
 * The delivered frame is a copy: it does not alias the socket's buffer.
 */
export function decodeRelayMessage(bytes: Uint8Array, maxFrameBytes: number): DecodeResult {
  const limit = maxRelayMessageBytes(maxFrameBytes);
  if (bytes.length > limit) return bad(`message of ${bytes.length} bytes exceeds ${limit}`);
  if (bytes.length === 0) return bad('empty message');
  const op = bytes[0]!;
  switch (op) {
    case Op.deliver: {
      if (bytes.length < 3) return bad('DELIVER too short');
      const length = bytes[1]!;
      const topic = readTopic(bytes, 2, length);
      if (topic === undefined) return bad('DELIVER with an invalid topic');
      const at = 2 + length;
      if (bytes.length < at + POSITION_BYTES) return bad('DELIVER without a position');
      const frameLength = bytes.length - at - POSITION_BYTES;
      if (frameLength > maxFrameBytes) return bad(`DELIVER frame of ${frameLength} bytes exceeds ${maxFrameBytes}`);
      return { ok: true, message: { op: 'deliver', topic, position: bytes.slice(at, at + POSITION_BYTES), frame: bytes.slice(at + POSITION_BYTES) } };
    }
    case Op.subscribed: {
      if (bytes.length < 2) return bad('SUBSCRIBED too short');
      const length = bytes[1]!;
      const topic = readTopic(bytes, 2, length);
      if (topic === undefined) return bad('SUBSCRIBED with an invalid topic');
      const at = 2 + length;
      if (bytes.length !== at + POSITION_BYTES + 1) return bad('SUBSCRIBED of a bad length');
      return { ok: true, message: { op: 'subscribed', topic, head: bytes.slice(at, at + POSITION_BYTES), recovered: (bytes[at + POSITION_BYTES]! & 1) === 1 } };
    }
    case Op.ack: {
      if (bytes.length !== 5) return bad('ACK of a bad length');
      return { ok: true, message: { op: 'ack', seq: u32(bytes, 1) } };
    }
    case Op.nack: {
      if (bytes.length !== 7) return bad('NACK of a bad length');
      const code = (bytes[5]! << 8) | bytes[6]!;
      return { ok: true, message: { op: 'nack', seq: u32(bytes, 1), code, name: nameOf(code) } };
    }
    case Op.limits: {
      if (bytes.length !== LIMITS_BYTES) return bad('LIMITS of a bad length');
      const f = [1, 5, 9, 13, 17].map((at) => u32(bytes, at));
      if (f.includes(0)) return bad('LIMITS with a zero field');
      const [publishRate, publishBurst, subscribeRate, subscribeBurst, maxFrameBytes] = f as [number, number, number, number, number];
      return {
        ok: true,
        message: {
          op: 'limits',
          publish: { perSecond: publishRate / 1000, burst: publishBurst },
          subscribe: { perSecond: subscribeRate / 1000, burst: subscribeBurst },
          maxFrameBytes,
        },
      };
    }
    case Op.error: {
      if (bytes.length < 4) return bad('ERROR too short');
      const code = (bytes[1]! << 8) | bytes[2]!;
      const length = bytes[3]!;
      // A relay error about no particular topic (e.g. a malformed message) carries topic length 0.
      const topic = length === 0 ? '' : readTopic(bytes, 4, length);
      if (topic === undefined) return bad('ERROR with an invalid topic');
      const reasonBytes = bytes.subarray(4 + length);
      if (reasonBytes.length > MAX_REASON_BYTES) return bad('ERROR reason too long');
      let reason: string;
      try {
        reason = new TextDecoder('utf-8', { fatal: true }).decode(reasonBytes);
      } catch {
        return bad('ERROR reason is not UTF-8');
      }
      return { ok: true, message: { op: 'error', code, name: nameOf(code), topic, reason } };
    }
    default:
      return bad(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
  }
}

function nameOf(code: number): RelayErrorName {
  return (RelayErrorCodes as Record<number, RelayErrorName>)[code] ?? 'unknown';
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/** The epoch half of a position (or head): equal epochs mean the same stream. */
export function sameEpoch(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < EPOCH_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}
