/**
 * X25519 public keys of small order (RFC 7748 §6.1: "check for the all-zero value"; the list is libsodium's
 * has_small_order). A DH with such a key gives an output every party can predict, so a hello carrying one
 * is refused (docs/PROTOCOL.md §6.2). Compared with the top bit cleared, as X25519 ignores it (RFC 7748 §5).
 */
import { fromHex } from './bytes.js';

const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0 (order 4)
  '0100000000000000000000000000000000000000000000000000000000000000', // 1 (order 1)
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1 (order 2)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p = 0 (order 4)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 = 1 (order 1)
].map(fromHex);

/** True if `key` (32 bytes) is a small-order X25519 point, in any encoding. */
export function isLowOrderX25519(key: Uint8Array): boolean {
  return LOW_ORDER.some((bad) => {
    let diff = (key[31]! & 0x7f) ^ bad[31]!;
    for (let i = 0; i < 31; i++) diff |= key[i]! ^ bad[i]!;
    return diff === 0;
  });
}
