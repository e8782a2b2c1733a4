/**
 * Lazy door to libsodium-wrappers-sumo, the build that has ristretto255 and SHA-512 (the standard build's
 * typings declare them but they throw at run time, see /work/shared/TOOLCHAIN.md).
 *
 * The module (~1 MB of wasm) is loaded with a dynamic import on first use, so applications that never open a
 * password room never pay for it. Default import only: named ESM imports of libsodium functions are a
 * link-time SyntaxError.
 */
import { SealsigError } from '@sealsig/core';

export type Sodium = typeof import('libsodium-wrappers-sumo').default;

let sodium: Sodium | undefined;
let loading: Promise<Sodium> | undefined;

/** Loads libsodium-wrappers-sumo once; every async CPace entry point awaits this. */
export function cpaceReady(): Promise<Sodium> {
  loading ??= import('libsodium-wrappers-sumo').then(async (mod) => {
    // The ESM build exposes the object as `default`; a CJS interop may nest it once more.
    const lib = ((mod as { default?: Sodium }).default ?? (mod as unknown as Sodium)) as Sodium;
    await lib.ready;
    sodium = lib;
    return lib;
  });
  return loading;
}

/** The loaded library, for the synchronous primitives. Throws a typed error before cpaceReady() resolved. */
export function sodiumLib(): Sodium {
  if (sodium === undefined) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'CPace primitive used before cpaceReady() resolved');
  }
  return sodium;
}
