/**
 * The only door to libsodium (libsodium-wrappers, standard build). Every primitive sealsig uses is wrapped
 * here, so the rest of the code never handles libsodium's loose typing or its exceptions.
 *
 * Randomness comes from `crypto.getRandomValues`, never libsodium's randombytes (about 30x slower per call in the
 * wasm build, see ../shared/TOOLCHAIN.md).
 */
import sodiumModule from 'libsodium-wrappers';
import { fail } from './errors.js';

type Sodium = typeof sodiumModule;
let sodium: Sodium | undefined;
let loading: Promise<void> | undefined;

/** Loads libsodium once. Every public entry point of sealsig awaits this before touching a key. */
export function ready(): Promise<void> {
  loading ??= sodiumModule.ready.then(() => {
    sodium = sodiumModule;
  });
  return loading;
}

function lib(): Sodium {
  if (sodium === undefined) throw new Error('sealsig: libsodium used before ready() resolved');
  return sodium;
}

/**
 * How many public-key operations this process has run, for the growth benchmark's floor (bench/growth.ts):
 * one integer increment per call, nothing else. Not exported from the package's index.
 */
export const publicKeyOps = {
  ed25519Sign: 0,
  ed25519Verify: 0,
  /** Ed25519 key pairs generated (one fixed-base scalar multiplication each). */
  ed25519KeyPair: 0,
  /** X25519 with a peer's public key (variable base), including the Noise layer's DH operations. */
  x25519: 0,
  /** X25519 key pairs generated (fixed base), including Noise ephemerals. */
  x25519KeyPair: 0,
};

/** Sets every count in publicKeyOps back to zero. */
export function resetPublicKeyOps(): void {
  for (const k of Object.keys(publicKeyOps) as (keyof typeof publicKeyOps)[]) publicKeyOps[k] = 0;
}

export const AEAD_KEY_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
export const XNONCE_BYTES = 24;
export const IETF_NONCE_BYTES = 12;
export const SIGN_PUBLIC_BYTES = 32;
export const SIGN_SECRET_BYTES = 64;
export const SIGNATURE_BYTES = 64;
export const DH_BYTES = 32;

/** `n` random bytes from libsodium. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Overwrites a secret in place (sodium_memzero). */
export function memzero(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) if (b !== undefined) b.fill(0);
}

/** Compares two byte strings of equal length in constant time (sodium_memcmp); false for other lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && lib().memcmp(a, b);
}

/** BLAKE2b (RFC 7693) with an output of outLen bytes and an optional 16..64-byte key. */
export function blake2b(outLen: number, message: Uint8Array, key?: Uint8Array): Uint8Array {
  return lib().crypto_generichash(outLen, message, key ?? null);
}

// --- AEAD -------------------------------------------------------------------------------------------

/** XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2), 24-byte nonce. Returns ciphertext || tag. */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  if (key.length !== AEAD_KEY_BYTES || nonce.length !== XNONCE_BYTES) {
    throw fail('E_INVALID_ARGUMENT', `XChaCha20-Poly1305 takes a ${AEAD_KEY_BYTES}-byte key and a ${XNONCE_BYTES}-byte nonce`);
  }
  return lib().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

/** Inverse of xchachaSeal; throws E_AUTH_FAILED on any mismatch. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  if (key.length !== AEAD_KEY_BYTES || nonce.length !== XNONCE_BYTES) throw fail('E_AUTH_FAILED', 'bad key or nonce length');
  if (sealed.length < AEAD_TAG_BYTES) throw fail('E_AUTH_FAILED', 'ciphertext shorter than its tag');
  try {
    return lib().crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key);
  } catch (e) {
    throw fail('E_AUTH_FAILED', 'AEAD authentication failed', e);
  }
}

/** ChaCha20-Poly1305 (RFC 8439 §2.8), 12-byte nonce, as Noise's ChaChaPoly cipher uses it. */
export function chachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return lib().crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

export function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array {
  if (sealed.length < AEAD_TAG_BYTES) throw fail('E_AUTH_FAILED', 'ciphertext shorter than its tag');
  try {
    return lib().crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key);
  } catch (e) {
    throw fail('E_AUTH_FAILED', 'AEAD authentication failed', e);
  }
}

// --- Ed25519 (RFC 8032) -----------------------------------------------------------------------------

/** A public key and its secret key. */
export interface KeyPair {
  /** The public key. */
  publicKey: Uint8Array;
  /** The secret key (libsodium's 64-byte form for Ed25519). */
  privateKey: Uint8Array;
}

/** An Ed25519 key pair; from a 32-byte seed when given (test vectors), else random. */
export function ed25519KeyPair(seed?: Uint8Array): KeyPair {
  const s = seed ?? randomBytes(32);
  publicKeyOps.ed25519KeyPair++;
  const kp = lib().crypto_sign_seed_keypair(s);
  if (seed === undefined) memzero(s);
  return { publicKey: kp.publicKey, privateKey: kp.privateKey };
}

/** A detached Ed25519 signature of the message. */
export function ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  publicKeyOps.ed25519Sign++;
  return lib().crypto_sign_detached(message, privateKey);
}

/** Strict verification (libsodium rejects non-canonical S, small-order A and R). Never throws. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== SIGN_PUBLIC_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  publicKeyOps.ed25519Verify++;
  try {
    return lib().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

// --- X25519 (RFC 7748) ------------------------------------------------------------------------------

/** An X25519 key pair; from a given private key when given (test vectors), else random. */
export function x25519KeyPair(privateKey?: Uint8Array): KeyPair {
  const sk = privateKey ?? randomBytes(DH_BYTES);
  publicKeyOps.x25519KeyPair++;
  return { publicKey: lib().crypto_scalarmult_base(sk), privateKey: sk };
}

/**
 * X25519(sk, pk). libsodium refuses an all-zero result (a low-order public key): that surfaces as
 * E_AUTH_FAILED, since a peer that sends such a key is not contributing to the secret.
 */
export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== DH_BYTES || privateKey.length !== DH_BYTES) throw fail('E_AUTH_FAILED', 'bad X25519 key length');
  publicKeyOps.x25519++;
  try {
    return lib().crypto_scalarmult(privateKey, publicKey);
  } catch (e) {
    throw fail('E_AUTH_FAILED', 'X25519 produced the all-zero value (low-order point)', e);
  }
}
