/**
 * String utilities of draft-irtf-cfrg-cpace (appendix "CPace function definitions"): prepend_len, lv_cat
 * (called prefix_free_cat in older revisions), zero_bytes, lexiographically_larger and o_cat.
 *
 * All hash inputs of CPace are prefix-free (every field carries its LEB128 length), which is what makes
 * SHA-512's Merkle-Damgard structure safe against length-extension style ambiguities (draft §"Hashing and key
 * derivation").
 */
import { concatBytes, utf8 } from '@sealsig/core';

/** LEB128 encoding of a non-negative integer length (7 bits per byte, least significant group first). */
export function leb128(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError('leb128: length must be a non-negative integer');
  const out: number[] = [];
  let n = length;
  for (;;) {
    if (n < 128) {
      out.push(n);
      break;
    }
    out.push((n % 128) + 0x80);
    n = Math.floor(n / 128);
  }
  return Uint8Array.from(out);
}

/** Concatenation of octet strings (the draft's ||). */
export const concat = concatBytes;

/** prepend_len(data) = LEB128(len(data)) || data. */
export function prependLen(data: Uint8Array): Uint8Array {
  return concat(leb128(data.length), data);
}

/** lv_cat(a0, a1, ...) = prepend_len(a0) || prepend_len(a1) || ... */
export function lvCat(...args: Uint8Array[]): Uint8Array {
  return concat(...args.map(prependLen));
}

/** zero_bytes(n): n octets of value 0. */
export function zeroBytes(n: number): Uint8Array {
  return new Uint8Array(n);
}

/** True if bytes1 > bytes2 in lexicographical order (a proper prefix is the smaller one). */
export function lexiographicallyLarger(bytes1: Uint8Array, bytes2: Uint8Array): boolean {
  const minLen = Math.min(bytes1.length, bytes2.length);
  for (let m = 0; m < minLen; m++) {
    const a = bytes1[m]!;
    const b = bytes2[m]!;
    if (a > b) return true;
    if (a < b) return false;
  }
  return bytes1.length > bytes2.length;
}

const OC = new Uint8Array([0x6f, 0x63]); // "oc"

/**
 * o_cat(bytes1, bytes2) = "oc" || larger || smaller: an ordered concatenation both parties compute alike
 * without agreeing on roles (the symmetric, "SY", setting).
 */
export function oCat(bytes1: Uint8Array, bytes2: Uint8Array): Uint8Array {
  return lexiographicallyLarger(bytes1, bytes2) ? concat(OC, bytes1, bytes2) : concat(OC, bytes2, bytes1);
}

/** UTF-8 bytes of a string (ASCII labels such as the DSI, or NFC-normalized passwords): core's. */
export { utf8 };
