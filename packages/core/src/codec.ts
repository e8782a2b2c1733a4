/**
 * The inner content of every sealed frame (docs/PROTOCOL.md §5.1): msgpack([type, payload]) in canonical
 * form (canonical-encode.ts, canonical-decode.ts). App values are any msgpack-able value; content that is
 * not canonical, or not [uint type, payload], is E_FRAME_MALFORMED.
 */
import { decodeCanonical } from './canonical-decode.js';
import { encodeCanonical } from './canonical-encode.js';
import { fail, isSealsigError } from './errors.js';

/** Encodes [type, payload]. Returns a view into a shared buffer: copy (pad) it before the next call. */
export function encodeContent(type: number, payload: unknown): Uint8Array {
  if (!Number.isSafeInteger(type) || type < 0) throw fail('E_INVALID_ARGUMENT', 'a content type is a uint below 2^53');
  try {
    return encodeCanonical([type, payload]);
  } catch (e) {
    // A getter of the payload may throw anything; a buffer too large to allocate is a RangeError.
    throw isSealsigError(e) ? e : fail('E_INVALID_ARGUMENT', 'value cannot be encoded as msgpack', e);
  }
}

/** Decodes canonical content (§5.1); bins in the payload are copies, never views into `bytes`. */
export function decodeContent(bytes: Uint8Array): { type: number; payload: unknown } {
  const v = decodeCanonical(bytes);
  // A non-negative safe integer has one encoding, the canonical uint: no other check is needed on the type.
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !Number.isSafeInteger(v[0]) || v[0] < 0) {
    throw fail('E_FRAME_MALFORMED', 'content is not [type, payload]');
  }
  return { type: v[0], payload: v[1] };
}
