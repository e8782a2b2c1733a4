/**
 * Plaintext padding (docs/PROTOCOL.md §5.3).
 *
 * A plaintext of n bytes becomes bucket(n + 1) bytes: the content, one 0x80 byte, then zeros
 * (ISO/IEC 7816-4, as libsodium's sodium_pad). bucket(L) is max(256, Padmé(L)): Padmé (Nikitin et al.,
 * "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs", PETS 2019) rounds L up so
 * that only its top ~log2(log2 L) bits remain, leaking O(log log L) bits with at most 12% overhead. Every
 * message under 256 bytes (ICE candidates, control messages) has the same size.
 */
import { fail } from './errors.js';

export const MIN_BUCKET = 256;

/** Padmé(L): clear all but the top floor(log2(E))+1 bits of L, rounding up (E = floor(log2 L)). */
export function padme(length: number): number {
  if (length < 2) return length;
  const e = 31 - Math.clz32(length); // floor(log2 L), exact for L < 2^32
  const s = 32 - Math.clz32(e); // floor(log2 E) + 1
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.ceil(length / (mask + 1)) * (mask + 1);
}

/** §5.2 The padded length of content of this many bytes. */
export function paddedLength(contentLength: number): number {
  return Math.max(MIN_BUCKET, padme(contentLength + 1));
}

/** Copies `content` into a new padded buffer of paddedLength(content.length) bytes. */
export function pad(content: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(content.length));
  out.set(content);
  out[content.length] = 0x80;
  return out;
}

/**
 * Returns the content of a padded buffer (a view, no copy). The length must be a valid bucket and the
 * padding exact, or E_FRAME_MALFORMED: a sender who pads otherwise is not a sealsig implementation.
 */
export function unpad(padded: Uint8Array): Uint8Array {
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  if (i < 0 || padded[i] !== 0x80) throw fail('E_FRAME_MALFORMED', 'bad padding');
  if (paddedLength(i) !== padded.length) throw fail('E_FRAME_MALFORMED', 'padding is not to the expected bucket');
  return padded.subarray(0, i);
}
