/**
 * ristretto255 (RFC 9496) from @noble/curves, behind the three operations CPace needs, on encoded values only.
 *
 * This module is the lazily loaded part of password rooms: only backend.ts imports it, and only with a dynamic
 * import, so a bundler puts it (and the part of @noble/curves it uses, about 14 KB gzip) in a chunk of its own that
 * a page loads the first time a password room runs CPace. Nothing else may import it statically.
 *
 * The results are those libsodium's crypto_core_ristretto255_from_hash, crypto_core_ristretto255_scalar_reduce
 * and crypto_scalarmult_ristretto255 gave (the sumo build used before): the draft's vectors check all three.
 *
 * Secrets: noble works on JavaScript bigints, which are immutable and cannot be overwritten. The scalar passed
 * to scalarMult is converted to a bigint here, and the points derived from the password (the generator) are
 * bigint coordinates inside noble: those copies stay in memory until the garbage collector reuses it. Callers
 * still erase every Uint8Array they hold (scalar, encoded generator, K).
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';

const Point = ristretto255.Point;
/** The order L of the ristretto255 group (2^252 + 27742317777372353535851937790883648493). */
const L = Point.Fn.ORDER;

/** A little-endian byte string as a bigint (the encoding of scalars in RFC 9496 and libsodium). */
function fromLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** A bigint < 2^256 as 32 little-endian bytes. */
function toLE32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** RFC 9496 §4.3.4 element derivation from 64 uniform bytes (libsodium's crypto_core_ristretto255_from_hash). */
export function fromHash(hash64: Uint8Array): Uint8Array {
  return ristretto255_hasher.deriveToCurve!(hash64).toBytes();
}

/** 64 bytes, little-endian, reduced mod L (libsodium's crypto_core_ristretto255_scalar_reduce). */
export function reduceWide(wide: Uint8Array): Uint8Array {
  return toLE32(fromLE(wide) % L);
}

/**
 * encode(s * decode(P)), with s read as libsodium's crypto_scalarmult_ristretto255 reads it (32 bytes,
 * little-endian, the top bit ignored; the group has order L, so s mod L gives the same point). Returns
 * undefined when P is not the canonical encoding of a group element, and the identity's encoding (32 zero
 * bytes) when the product is the identity (s = 0 mod L or P the identity): the caller decides what to refuse.
 *
 * The multiplication is noble's `multiply`, its "constant-time" path (a fixed sequence of point operations
 * over a fixed window, whatever the scalar), never `multiplyUnsafe`. See docs/PROTOCOL.md §R4 for what that
 * does and does not guarantee in JavaScript.
 */
export function scalarMult(s: Uint8Array, P: Uint8Array): Uint8Array | undefined {
  let point: InstanceType<typeof Point>;
  try {
    point = Point.fromBytes(P);
  } catch {
    return undefined;
  }
  const masked = Uint8Array.from(s);
  masked[31] = masked[31]! & 0x7f;
  const scalar = fromLE(masked) % L;
  masked.fill(0);
  if (scalar === 0n || point.is0()) return new Uint8Array(32);
  return point.multiply(scalar).toBytes();
}
