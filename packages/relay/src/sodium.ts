/**
 * The relay's only uses of libsodium: keyed BLAKE2b-256 (`crypto_generichash`) for admission tokens, Ed25519
 * verification for descriptor write proofs (src/descriptor-proof.ts), and a
 * constant-time compare (`sodium.memcmp`). Loaded once (`await sodiumReady()`, done by `listen()`).
 */
import sodiumModule from 'libsodium-wrappers';

let loading: Promise<void> | undefined;
let loaded = false;

/** Resolves once libsodium is loaded (token and TURN MACs need it). */
export function sodiumReady(): Promise<void> {
  loading ??= sodiumModule.ready.then(() => {
    loaded = true;
  });
  return loading;
}

function lib(): typeof sodiumModule {
  if (!loaded) throw new Error('@sealsig/relay: libsodium used before sodiumReady() resolved');
  return sodiumModule;
}

/** BLAKE2b-256 of `message` keyed with `key` (16..64 bytes; RFC 7693 keyed mode). */
export function mac256(message: Uint8Array, key: Uint8Array): Uint8Array {
  return lib().crypto_generichash(32, message, key);
}

/** Constant-time equality of two byte arrays (lengths are not secret). */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return lib().memcmp(a, b);
}

/** Strict Ed25519 verification (libsodium's `crypto_sign_verify_detached`); never throws. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return lib().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}
