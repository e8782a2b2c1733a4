/**
 * The inner content of every sealed frame (docs/PROTOCOL.md §5.1): msgpack([type, payload]).
 * App values are any msgpack-able value; decoding failures become E_FRAME_MALFORMED.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { fail } from './errors.js';

const encoder = new Encoder({ ignoreUndefined: false });
const decoder = new Decoder();

/** Encodes [type, payload]. Returns a view into a shared buffer: copy (pad) it before the next call. */
export function encodeContent(type: number, payload: unknown): Uint8Array {
  try {
    return encoder.encodeSharedRef([type, payload]);
  } catch (e) {
    throw fail('E_INVALID_ARGUMENT', 'value cannot be encoded as msgpack', e);
  }
}

export function decodeContent(bytes: Uint8Array): { type: number; payload: unknown } {
  let v: unknown;
  try {
    v = decoder.decode(bytes);
  } catch (e) {
    throw fail('E_FRAME_MALFORMED', 'content is not valid msgpack', e);
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !Number.isInteger(v[0])) {
    throw fail('E_FRAME_MALFORMED', 'content is not [type, payload]');
  }
  return { type: v[0], payload: v[1] };
}
