/**
 * How frames travel on the wrapped signaler (docs/ADAPTERS.md §1): as bytes ('binary') or as base64url
 * text ('base64url', for text-only channels). Incoming data is validated before anything is allocated:
 * type, then length against the frame limit, then strict decoding.
 */
import { SealsigError, base64UrlLength, fromBase64Url } from '@sealsig/core';

/** How frames travel on the signaler: bytes, or unpadded base64url text. */
export type Encoding = 'binary' | 'base64url';

/** Decodes incoming data into a frame of at most maxFrameBytes, or throws E_FRAME_TOO_LARGE / E_FRAME_MALFORMED. */
export function decode(data: unknown, encoding: Encoding, maxFrameBytes: number): Uint8Array {
  if (encoding === 'base64url') {
    if (typeof data !== 'string') throw new SealsigError('E_FRAME_MALFORMED', `expected base64url text, got ${kindOf(data)}`);
    if (data.length > base64UrlLength(maxFrameBytes)) throw new SealsigError('E_FRAME_TOO_LARGE', `${data.length} characters exceed a frame of ${maxFrameBytes} bytes`);
    const frame = fromBase64Url(data);
    if (frame === undefined) throw new SealsigError('E_FRAME_MALFORMED', 'not canonical unpadded base64url');
    return frame;
  }
  // Binary: a Uint8Array (a Node Buffer is one), another view, or an ArrayBuffer (browsers' socket.io).
  let view: Uint8Array;
  if (data instanceof Uint8Array) view = data;
  else if (data instanceof ArrayBuffer) view = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new SealsigError('E_FRAME_MALFORMED', `expected bytes, got ${kindOf(data)}`);
  if (view.byteLength > maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `frame of ${view.byteLength} bytes exceeds ${maxFrameBytes}`);
  // A plain Uint8Array of exactly the frame's bytes, owned by sealsig (the signaler may reuse its buffer).
  return copyBytes(view);
}

/** A copy in a plain Uint8Array (Buffer#slice would share memory, so never rely on slice()). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

function kindOf(data: unknown): string {
  if (data === null) return 'null';
  if (typeof data !== 'object') return typeof data;
  return (data as object).constructor?.name ?? 'object';
}
