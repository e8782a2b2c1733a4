/**
 * The primitives CPace (CPACE-RISTR255-SHA512) needs, and when they are loaded:
 *
 * - SHA-512 is libsodium's `crypto_hash` from libsodium-wrappers, the standard build core already loads (same
 *   package and version as @sealsig/core, so a bundler and Node share one copy and one wasm instance). The
 *   standard build's typings also declare functions it lacks (TOOLCHAIN.md), so the first load checks at run
 *   time that `crypto_hash` exists and gives SHA-512's known answer for "abc" (FIPS 180-2), not just that the
 *   types accept it.
 * - ristretto255 comes from @noble/curves through ./ristretto.js, loaded with a dynamic import the first time a
 *   password room runs CPace, so a page that never opens one does not load it (bundlers make it a chunk of
 *   its own; see bench/bundle.ts).
 *
 * Nothing from either library appears in a public type: the declarations rooms publishes (.d.ts and .d.cts)
 * must not depend on their typings.
 */
import sodium from 'libsodium-wrappers';
import { SealsigError, toHex, utf8 } from '@sealsig/core';

/** The operations of ./ristretto.js, typed here so that no static import of that module exists. */
export interface RistrettoOps {
  fromHash(hash64: Uint8Array): Uint8Array;
  reduceWide(wide: Uint8Array): Uint8Array;
  scalarMult(s: Uint8Array, P: Uint8Array): Uint8Array | undefined;
}

export interface CpaceBackend extends RistrettoOps {
  sha512(message: Uint8Array): Uint8Array;
}

/** SHA-512("abc"), FIPS 180-2 appendix C.1. */
const SHA512_ABC =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

let backend: CpaceBackend | undefined;
let loading: Promise<void> | undefined;
let ristrettoLoads = 0;

async function load(): Promise<void> {
  const [, ristretto] = await Promise.all([
    sodium.ready,
    import('./ristretto.js').then((mod) => {
      ristrettoLoads++;
      return mod;
    }),
  ]);
  const hash = (sodium as { crypto_hash?: (m: Uint8Array) => Uint8Array }).crypto_hash;
  if (typeof hash !== 'function' || toHex(hash(utf8('abc'))) !== SHA512_ABC) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'CPace: libsodium-wrappers has no SHA-512 crypto_hash in this build');
  }
  backend = {
    sha512: (message) => hash(message),
    fromHash: ristretto.fromHash,
    reduceWide: ristretto.reduceWide,
    scalarMult: ristretto.scalarMult,
  };
}

/**
 * Loads what CPace needs, once (later calls return the same promise; a failed load is retried on the next
 * call). Every asynchronous CPace entry point awaits it; call it before the synchronous primitives.
 */
export function cpaceReady(): Promise<void> {
  loading ??= load().catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

/** The loaded primitives, for the synchronous functions. Throws a typed error before cpaceReady() resolved. */
export function cpaceBackend(): CpaceBackend {
  if (backend === undefined) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'CPace primitive used before cpaceReady() resolved');
  }
  return backend;
}

/** How many times ./ristretto.js has been imported (0 until the first CPace run; then 1). For the tests. */
export function ristrettoLoadCount(): number {
  return ristrettoLoads;
}
