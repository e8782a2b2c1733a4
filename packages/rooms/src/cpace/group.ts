/**
 * The group environment G_Ristretto255 of draft-irtf-cfrg-cpace ("CPace group objects G_Ristretto255 and
 * G_Decaf448", the suite CPACE-RISTR255-SHA512), with H = SHA-512 (s_in_bytes = 128).
 *
 * SHA-512 is libsodium's (core's standard build), ristretto255 is @noble/curves, loaded on first use (see
 * backend.ts). These functions work on encoded ristretto255 points throughout, so the draft's "internal
 * representation" _g is simply its 32-byte encoding here; they are synchronous and throw E_INVALID_ARGUMENT
 * until cpaceReady() has resolved.
 */
import { SealsigError } from '@sealsig/core';
import { cpaceBackend } from './backend.js';
import { lvCat, prependLen, utf8, zeroBytes } from './strings.js';

/** G_Ristretto255.DSI. */
export const DSI = utf8('CPaceRistretto255');
/** SHA-512 input block size (H.s_in_bytes). */
export const SHA512_S_IN_BYTES = 128;
/** G_Ristretto255.field_size_bytes: encoded points and scalars. */
export const FIELD_SIZE_BYTES = 32;
/** H.b_in_bytes for SHA-512: the length of ISK and sid_output. */
export const HASH_BYTES = 64;
/** G.I: the encoding of the identity element (all zero). */
export const IDENTITY = zeroBytes(FIELD_SIZE_BYTES);

/** H.hash(m) = SHA-512(m). */
export function hash(message: Uint8Array): Uint8Array {
  return cpaceBackend().sha512(message);
}

/**
 * generator_string(DSI, PRS, CI, sid, s_in_bytes) = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid), where the
 * zero padding makes DSI and PRS fill the first hash block exactly, so the work to hash does not depend on
 * the password's length (draft §"Common function for computing generators").
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number = SHA512_S_IN_BYTES,
): Uint8Array {
  const lenZpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, zeroBytes(lenZpad), ci, sid);
}

/**
 * G.calculate_generator(H, PRS, CI, sid): gen_str_hash = H.hash(generator_string(...), 64), then the
 * ristretto255 one-way map (RFC 9496 element derivation, libsodium's crypto_core_ristretto255_from_hash).
 * The hash input and gen_str_hash are functions of the password: both are erased here.
 */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  const lib = cpaceBackend();
  const genStr = generatorString(DSI, prs, ci, sid, SHA512_S_IN_BYTES);
  const genStrHash = lib.sha512(genStr);
  genStr.fill(0);
  try {
    return lib.fromHash(genStrHash);
  } finally {
    genStrHash.fill(0);
  }
}

/**
 * G.sample_scalar(): 64 uniformly random bytes from crypto.getRandomValues, reduced mod the group order (the
 * draft's alternative "uniform sampling between 1 and group_order - 1"; the bias of a 512-bit reduction is
 * negligible). Zero is resampled. Never libsodium's own randombytes (project rule). The reduction runs on a
 * bigint inside ristretto.ts, a copy that cannot be erased (see there); the returned bytes can and are.
 */
export function sampleScalar(): Uint8Array {
  const lib = cpaceBackend();
  for (;;) {
    const wide = new Uint8Array(64);
    globalThis.crypto.getRandomValues(wide);
    const y = lib.reduceWide(wide);
    wide.fill(0);
    if (y.some((b) => b !== 0)) return y;
  }
}

function checkScalar(y: Uint8Array): void {
  if (!(y instanceof Uint8Array) || y.length !== FIELD_SIZE_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `a ristretto255 scalar has ${FIELD_SIZE_BYTES} bytes`);
  }
}

/**
 * G.scalar_mult(y, g): encode(g^y) for our own generator. An identity result (or a g that is not a valid
 * encoding) is refused, as libsodium's crypto_scalarmult_ristretto255 did; for a generator from
 * calculate_generator that cannot happen except with negligible probability, but it is still a typed error
 * rather than a crash.
 */
export function scalarMult(y: Uint8Array, g: Uint8Array): Uint8Array {
  checkScalar(y);
  const out = cpaceBackend().scalarMult(y, g);
  if (out === undefined || isIdentity(out)) {
    throw new SealsigError('E_AUTH_FAILED', 'ristretto255 scalar multiplication gave the identity');
  }
  return out;
}

/**
 * G.scalar_mult_vfy(y, X) for a peer's encoded point X. The draft returns G.I when decode(X) fails or the
 * result is the identity, and the protocol MUST abort on G.I. Here that abort is the return value itself: a
 * SealsigError E_AUTH_FAILED is thrown, so no caller can forget the check.
 */
export function scalarMultVfy(y: Uint8Array, X: Uint8Array): Uint8Array {
  checkScalar(y);
  const lib = cpaceBackend();
  const K = X instanceof Uint8Array && X.length === FIELD_SIZE_BYTES ? lib.scalarMult(y, X) : undefined;
  if (K === undefined) throw new SealsigError('E_AUTH_FAILED', 'CPace: the peer share is not a valid ristretto255 encoding');
  if (isIdentity(K)) throw new SealsigError('E_AUTH_FAILED', 'CPace: the shared point is the identity');
  return K;
}

/** True if an encoded point equals G.I (constant-time over the 32 bytes). */
export function isIdentity(X: Uint8Array): boolean {
  let acc = 0;
  for (const b of X) acc |= b;
  return acc === 0;
}
