/**
 * The transport's own wrapping of frames into service messages (never a parse of the frame itself,
 * docs/ADAPTERS.md §2). Every message starts with one kind byte:
 *
 *   0x00 WHOLE  | frame bytes
 *   0x01 CHUNK  | message id (8 random bytes) | index (u16 BE) | count (u16 BE) | total (u32 BE) | data
 *
 * A frame whose WHOLE message would exceed the service's message limit is split into `count` CHUNK
 * messages carrying consecutive slices of it; `total` is the frame's length. Receivers validate every
 * header field against their own bounds before they store anything (docs/PROTOCOL.md §4.3, §8.4).
 */
import { SealsigError, toHex } from '@sealsig/core';

export const KIND_WHOLE = 0x00;
export const KIND_CHUNK = 0x01;
/** Bytes of a WHOLE message's header. */
export const WHOLE_HEADER_BYTES = 1;
/** Bytes of a CHUNK message's header: kind, id, index, count, total. */
export const CHUNK_HEADER_BYTES = 1 + 8 + 2 + 2 + 4;
/** The largest chunk count the u16 field can carry. */
export const MAX_CHUNK_COUNT = 0xffff;

/** One decoded CHUNK message. */
export interface Chunk {
  /** The message id, as 16 hex characters (a map key). */
  id: string;
  /** Its position among the frame's chunks, from 0. */
  index: number;
  /** The frame's chunk count. */
  count: number;
  /** The frame's length in bytes. */
  total: number;
  /** The slice of the frame. */
  data: Uint8Array;
}

/** A decoded service message: a whole frame or one chunk. */
export type Decoded = {
  /** WHOLE or CHUNK. */
  kind: 'whole';
  /** The frame. */
  frame: Uint8Array;
} | {
  /** WHOLE or CHUNK. */
  kind: 'chunk';
  /** The chunk. */
  chunk: Chunk;
};

/** Bounds a receiver applies to every message before it stores any of it. */
export interface WireLimits {
  /** The largest frame accepted, whole or reassembled. */
  maxFrameBytes: number;
  /** The largest chunk count accepted for one frame. */
  maxChunks: number;
}

/**
 * Splits a frame into the messages that carry it, each at most `capacity` bytes. `id` is used only when
 * the frame needs chunks (8 bytes from crypto.getRandomValues, drawn by the caller).
 */
export function encodeMessages(frame: Uint8Array, capacity: number, newId: () => Uint8Array): Uint8Array[] {
  if (WHOLE_HEADER_BYTES + frame.length <= capacity) {
    const out = new Uint8Array(WHOLE_HEADER_BYTES + frame.length);
    out[0] = KIND_WHOLE;
    out.set(frame, WHOLE_HEADER_BYTES);
    return [out];
  }
  const per = capacity - CHUNK_HEADER_BYTES;
  const count = per > 0 ? Math.ceil(frame.length / per) : Infinity;
  if (count > MAX_CHUNK_COUNT) {
    throw new SealsigError('E_FRAME_TOO_LARGE', `a ${frame.length}-byte frame needs more than ${MAX_CHUNK_COUNT} chunks of ${per} bytes`);
  }
  const id = newId();
  const messages: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const data = frame.subarray(index * per, Math.min(frame.length, (index + 1) * per));
    const out = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
    const view = new DataView(out.buffer);
    out[0] = KIND_CHUNK;
    out.set(id, 1);
    view.setUint16(9, index, false);
    view.setUint16(11, count, false);
    view.setUint32(13, frame.length, false);
    out.set(data, CHUNK_HEADER_BYTES);
    messages.push(out);
  }
  return messages;
}

/**
 * Decodes one message's header, checking it against `limits`. Throws a SealsigError
 * (E_FRAME_MALFORMED or E_FRAME_TOO_LARGE) for anything out of bounds. The returned frame or chunk data
 * is a fresh copy, so nothing keeps the library's (possibly pooled) buffer alive or sees it change.
 */
export function decodeMessage(message: Uint8Array, limits: WireLimits): Decoded {
  if (message.length < 1) throw new SealsigError('E_FRAME_MALFORMED', 'empty message');
  const kind = message[0];
  if (kind === KIND_WHOLE) {
    const length = message.length - WHOLE_HEADER_BYTES;
    if (length > limits.maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `a ${length}-byte frame exceeds ${limits.maxFrameBytes} bytes`);
    return { kind: 'whole', frame: copy(message, WHOLE_HEADER_BYTES) };
  }
  if (kind !== KIND_CHUNK) throw new SealsigError('E_FRAME_MALFORMED', `unknown message kind ${kind}`);
  if (message.length <= CHUNK_HEADER_BYTES) throw new SealsigError('E_FRAME_MALFORMED', 'chunk without data');
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const index = view.getUint16(9, false);
  const count = view.getUint16(11, false);
  const total = view.getUint32(13, false);
  const dataLength = message.length - CHUNK_HEADER_BYTES;
  if (total > limits.maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `a chunked frame of ${total} bytes exceeds ${limits.maxFrameBytes} bytes`);
  if (count < 1 || count > limits.maxChunks) throw new SealsigError('E_FRAME_MALFORMED', `chunk count ${count} outside 1..${limits.maxChunks}`);
  if (count > total) throw new SealsigError('E_FRAME_MALFORMED', `${count} chunks for ${total} bytes`);
  if (index >= count) throw new SealsigError('E_FRAME_MALFORMED', `chunk index ${index} not below count ${count}`);
  if (dataLength > total) throw new SealsigError('E_FRAME_MALFORMED', `a ${dataLength}-byte chunk of a ${total}-byte frame`);
  const id = toHex(message.subarray(1, 9));
  return { kind: 'chunk', chunk: { id, index, count, total, data: copy(message, CHUNK_HEADER_BYTES) } };
}

/**
 * A plain Uint8Array copy of `bytes` from `start`. Not `bytes.slice()`: on a Node Buffer that is a view
 * into memory the library may reuse (its pool), and the result would be a Buffer.
 */
function copy(bytes: Uint8Array, start: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start));
}
