/**
 * The draft's network encoding of a CPace message: MSG = lv_cat(Y, AD) (draft §"CPace protocol instructions";
 * the receiver MUST abort if the prepended lengths do not add up to the message length, see the appendix
 * "Examples for invalid encoded messages"). Where the room join flow carries Y and AD as separate fields it
 * need not use this; it is here for flows that want the draft's single-blob form.
 */
import { SealsigError } from '@sealsig/core';
import { FIELD_SIZE_BYTES } from './group.js';
import { lvCat } from './strings.js';

/** Default bound on associated data, in bytes. */
export const MAX_AD_BYTES = 1024;

/** A CPace message: a public share and its associated data. */
export interface CpaceMessage {
  /** The public share Ya or Yb (32 bytes). */
  Y: Uint8Array;
  /** The associated data ADa or ADb. */
  AD: Uint8Array;
}

/** MSG = lv_cat(Y, AD). */
export function encodeMessage(Y: Uint8Array, AD: Uint8Array): Uint8Array {
  return lvCat(Y, AD);
}

/**
 * Reads one LEB128 length at `at`. Strict: at most 3 bytes (lengths < 2^21, far above any bound used here), no
 * overlong encodings (a final 0x00 continuation group), no truncation.
 */
function readLength(bytes: Uint8Array, at: number): { length: number; next: number } {
  let length = 0;
  for (let i = 0; i < 3; i++) {
    const b = bytes[at + i];
    if (b === undefined) throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: truncated length field');
    length += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: overlong length field');
      return { length, next: at + i + 1 };
    }
  }
  throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: length field too long');
}

/**
 * Parses MSG = lv_cat(Y, AD), checking before it copies anything: the total size, that Y has exactly 32 bytes,
 * that AD fits maxAdBytes, and that the lengths account for every byte of the message.
 */
export function decodeMessage(bytes: Uint8Array, maxAdBytes: number = MAX_AD_BYTES): CpaceMessage {
  if (!(bytes instanceof Uint8Array)) throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: not bytes');
  // 1 length byte for Y, 32 for Y, at most 3 length bytes for AD.
  if (bytes.length > 1 + FIELD_SIZE_BYTES + 3 + maxAdBytes) {
    throw new SealsigError('E_FRAME_TOO_LARGE', 'CPace message larger than its bound');
  }
  const y = readLength(bytes, 0);
  if (y.length !== FIELD_SIZE_BYTES || y.next + y.length > bytes.length) {
    throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: Y is not a 32-byte field');
  }
  const ad = readLength(bytes, y.next + y.length);
  if (ad.length > maxAdBytes) throw new SealsigError('E_FRAME_TOO_LARGE', 'CPace message: AD larger than its bound');
  if (ad.next + ad.length !== bytes.length) {
    throw new SealsigError('E_FRAME_MALFORMED', 'CPace message: lengths do not match the message size');
  }
  return { Y: bytes.slice(y.next, y.next + y.length), AD: bytes.slice(ad.next, ad.next + ad.length) };
}
