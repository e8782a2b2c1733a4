/**
 * The descriptor store contract (docs/PROTOCOL.md §R7): a small key-value store with expiry that holds sealed
 * room descriptors. It only ever sees an opaque id (a keyed hash of the invite's session id), ciphertext, and
 * a write proof (src/store/proof.ts): the moderator's public key, a serial, a signature over the put and the
 * moderator chain. Implementations: memoryDescriptorStore (tests, one process), relayDescriptorStore
 * (@sealsig/relay's /descriptors endpoint, which checks the proof), and the Firebase one in
 * @sealsig/transport-firebase (whose rules cannot check signatures: readers' checks only, §R7).
 *
 * A store that checks proofs binds an id to the write key of its first put and then accepts a put only if
 * its proof verifies, its serial is above the stored one, and its key is the bound key or certified from it
 * by the chain (authorizePut in proof.ts). The binding lasts while the value is unexpired.
 *
 * Errors are SealsigError: E_INVALID_ARGUMENT (bad id, ttl or malformed proof), E_FRAME_TOO_LARGE (value
 * above DESCRIPTOR_MAX_BYTES or the store's own limit), E_AUTH_FAILED (the proof does not verify, is not the
 * bound key or its certified successor, or its serial is not above the stored one), E_RATE_LIMITED,
 * E_TRANSPORT (the store could not be reached or answered nonsense).
 */
import { SealsigError, fromBase64Url } from '@sealsig/core';
import { MAX_PROOF_BYTES } from './proof.js';

/** The largest sealed descriptor a store must accept. */
export const DESCRIPTOR_MAX_BYTES = 4096;
/** Ids are 16 bytes, base64url without padding. */
export const DESCRIPTOR_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export { MAX_PROOF_BYTES };

/** The options of DescriptorStore.put(). */
export interface DescriptorPutOptions {
  /** How long the store keeps the value, ms (the store may cap it; it must not keep it longer). */
  ttlMs: number;
  /**
   * §R7 The write proof, msgpack([write_key, serial, signature, chain]) with the signature over this put (id,
   * serial, ttlMs, value): made by signWriteProof (publishDescriptor does it). At most MAX_PROOF_BYTES.
   */
  proof: Uint8Array;
}

/** Where sealed room descriptors are kept (§R7): a relay, Firebase, memory. It sees only ciphertext. */
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

/**
 * The 16 bytes an id names (what a write proof signs), or E_INVALID_ARGUMENT. A put needs the canonical
 * encoding (the last character's low 4 bits zero), so that one signed put fits one id only.
 */
export function descriptorIdBytes(id: string): Uint8Array {
  checkId(id);
  const bytes = fromBase64Url(id);
  if (bytes === undefined || bytes.length !== 16) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id is not the canonical base64url of 16 bytes');
  return bytes;
}

/** The checks every store makes before a put (E_INVALID_ARGUMENT, E_FRAME_TOO_LARGE); returns the id's bytes. */
export function checkPut(id: string, value: Uint8Array, options: DescriptorPutOptions): Uint8Array {
  const idBytes = descriptorIdBytes(id);
  if (!(value instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor value must be a Uint8Array');
  if (value.length > DESCRIPTOR_MAX_BYTES) throw new SealsigError('E_FRAME_TOO_LARGE', `descriptor of ${value.length} bytes exceeds ${DESCRIPTOR_MAX_BYTES}`);
  if (!Number.isSafeInteger(options?.ttlMs) || options.ttlMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be a positive integer');
  if (!(options.proof instanceof Uint8Array) || options.proof.length < 1 || options.proof.length > MAX_PROOF_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `proof must be 1..${MAX_PROOF_BYTES} bytes`);
  }
  return idBytes;
}
