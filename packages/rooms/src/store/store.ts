/**
 * The descriptor store contract (docs/PROTOCOL.md §R7): a small key-value store with expiry that holds sealed
 * room descriptors. It only ever sees an opaque id (a keyed hash of the invite's session id), ciphertext, and
 * a write token it cannot turn into anything else. Implementations: memoryDescriptorStore (tests, one
 * process), relayDescriptorStore (@sealsig/relay's /descriptors endpoint), and the Firebase one in
 * @sealsig/transport-firebase.
 *
 * Errors are SealsigError: E_INVALID_ARGUMENT (bad id, ttl or token), E_FRAME_TOO_LARGE (value above
 * DESCRIPTOR_MAX_BYTES or the store's own limit), E_AUTH_FAILED (the id is held, unexpired, under another
 * write token), E_RATE_LIMITED, E_TRANSPORT (the store could not be reached or answered nonsense).
 */
import { SealsigError } from '@sealsig/core';

/** The largest sealed descriptor a store must accept. */
export const DESCRIPTOR_MAX_BYTES = 4096;
/** Ids are 16 bytes, base64url without padding. */
export const DESCRIPTOR_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** Write tokens are 32 bytes. */
export const WRITE_TOKEN_BYTES = 32;

export interface DescriptorPutOptions {
  /** How long the store keeps the value, ms (the store may cap it; it must not keep it longer). */
  ttlMs: number;
  /**
   * Proof of the right to write this id. The first put binds the id to (a hash of) this token; later puts with
   * another token fail with E_AUTH_FAILED until the value expires.
   */
  writeToken: Uint8Array;
}

export interface DescriptorStore {
  /** Stores (or replaces) the value under id until ttlMs from now. */
  put(id: string, value: Uint8Array, options: DescriptorPutOptions): Promise<void>;
  /** The unexpired value under id, or undefined. */
  get(id: string): Promise<Uint8Array | undefined>;
}

/** Refuses (E_INVALID_ARGUMENT) anything but a descriptor id. */
export function checkId(id: string): void {
  if (typeof id !== 'string' || !DESCRIPTOR_ID_PATTERN.test(id)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id must be 22 base64url characters');
}

/** The checks every store makes before a put (E_INVALID_ARGUMENT, E_FRAME_TOO_LARGE). */
export function checkPut(id: string, value: Uint8Array, options: DescriptorPutOptions): void {
  checkId(id);
  if (!(value instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor value must be a Uint8Array');
  if (value.length > DESCRIPTOR_MAX_BYTES) throw new SealsigError('E_FRAME_TOO_LARGE', `descriptor of ${value.length} bytes exceeds ${DESCRIPTOR_MAX_BYTES}`);
  if (!Number.isSafeInteger(options?.ttlMs) || options.ttlMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be a positive integer');
  if (!(options.writeToken instanceof Uint8Array) || options.writeToken.length !== WRITE_TOKEN_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `writeToken must be ${WRITE_TOKEN_BYTES} bytes`);
  }
}
