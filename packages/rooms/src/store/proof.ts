/**
 * Write proofs for the descriptor store (docs/PROTOCOL.md §R7): only the room's moderator may write its
 * descriptor, and moderation (with the right to write) passes to a successor along the moderator chain (§R6).
 *
 *   proof     = msgpack([write_key (bin 32), serial (uint), signature (bin 64), chain])
 *   signature = Ed25519-Sign(write_key, "sealsig/v2/rooms/descriptor-put" || 0x00 || descriptor_id
 *                            || u64be(serial) || u64be(ttl_ms) || value)
 *
 * `write_key` is the moderator's own Ed25519 identity key, `chain` the room's moderator chain as it travels
 * (§R6, `[[key, version, epoch, signature], ...]`), msgpack the canonical encoding (core §5.1). A store binds
 * an id to the write key of its first put (trust on first use) and then accepts a put only if (authorizePut):
 * its signature verifies under write_key, its serial is above the stored one, and write_key is the bound key
 * or the chain carries verified links from the bound key to write_key. The binding then moves to write_key.
 *
 * This module is the rooms-side verifier (memoryDescriptorStore uses it; publishDescriptor signs with it).
 * @sealsig/relay carries its own copy of the check (packages/relay/src/descriptor-proof.ts); both are run
 * against the same vectors (test/fixtures/descriptor-put.json in each package).
 */
import { SealsigError, decodeCanonical, ed25519Sign, ed25519Verify, encodeCanonical, equalBytes, u64be } from '@sealsig/core';
import { chainEnd } from '../chain.js';
import { RoomLabels, signatureInput } from '../labels.js';
import { decodeChain, encodeChain, MAX_CHAIN, type ChainLink } from '../wire.js';

/**
 * The largest proof: array head 1, write key 34, serial 9, signature 66, chain head 3, and 16 links of
 * 1 + 34 + 9 + 5 + 66 bytes: 1,953 bytes. Anything longer is refused before it is decoded.
 */
export const MAX_PROOF_BYTES = 2048;

/** §R7 The proof that a put comes from the room's current moderator. */
export interface WriteProof {
  /** The Ed25519 key that signed the put. */
  writeKey: Uint8Array;
  /** The descriptor serial: above every earlier one. */
  serial: number;
  /** Signature over the put input (putInput). */
  signature: Uint8Array;
  /** The chain from the invite's moderator key to writeKey (§R6). */
  chain: ChainLink[];
}

/** What a store keeps per id while its value is unexpired: the key allowed to write, and the last serial. */
export interface WriteBinding {
  /** The key allowed to write. */
  key: Uint8Array;
  /** The last serial written. */
  serial: number;
}

/** §R7 The signed input of a put. */
export function putInput(descriptorId: Uint8Array, serial: number, ttlMs: number, value: Uint8Array): Uint8Array {
  return signatureInput(RoomLabels.descriptorPut, descriptorId, u64be(serial), u64be(ttlMs), value);
}

/** The msgpack encoding of a write proof. */
export function encodeWriteProof(p: WriteProof): Uint8Array {
  return encodeCanonical([p.writeKey, p.serial, p.signature, encodeChain(p.chain)]).slice();
}

/** §R7 Signs a put of `value` under `descriptorId` and returns the proof that travels with it. */
export function signWriteProof(
  signingSecret: Uint8Array,
  writeKey: Uint8Array,
  descriptorId: Uint8Array,
  serial: number,
  ttlMs: number,
  value: Uint8Array,
  chain: ChainLink[],
): Uint8Array {
  if (!Number.isSafeInteger(serial) || serial < 0) throw new SealsigError('E_INVALID_ARGUMENT', 'serial must be a safe unsigned integer');
  const signature = ed25519Sign(signingSecret, putInput(descriptorId, serial, ttlMs, value));
  return encodeWriteProof({ writeKey, serial, signature, chain });
}

/** Decodes a proof; E_INVALID_ARGUMENT unless it is canonical msgpack of exactly the layout above. */
export function decodeWriteProof(proof: Uint8Array): WriteProof {
  const bad = (what: string, cause?: unknown): never => {
    throw new SealsigError('E_INVALID_ARGUMENT', `write proof: ${what}`, cause === undefined ? undefined : { cause });
  };
  if (!(proof instanceof Uint8Array) || proof.length > MAX_PROOF_BYTES) bad(`must be a Uint8Array of at most ${MAX_PROOF_BYTES} bytes`);
  let v: unknown;
  try {
    v = decodeCanonical(proof);
  } catch (e) {
    bad('not canonical msgpack', e);
  }
  if (!Array.isArray(v) || v.length !== 4) bad('not a 4-element array');
  const [writeKey, serial, signature, chainWire] = v as unknown[];
  if (!(writeKey instanceof Uint8Array) || writeKey.length !== 32) bad('write key must be 32 bytes');
  if (typeof serial !== 'number' || !Number.isSafeInteger(serial) || serial < 0) bad('serial must be a safe unsigned integer');
  if (!(signature instanceof Uint8Array) || signature.length !== 64) bad('signature must be 64 bytes');
  if (!Array.isArray(chainWire) || chainWire.length > MAX_CHAIN) bad(`chain must be an array of at most ${MAX_CHAIN} links`);
  let chain: ChainLink[] = [];
  try {
    chain = decodeChain(chainWire);
  } catch (e) {
    bad('malformed chain', e);
  }
  return { writeKey: writeKey as Uint8Array, serial: serial as number, signature: signature as Uint8Array, chain };
}

/**
 * §R7 The store's rule. `held` is the id's binding while its value is unexpired (undefined otherwise). Returns
 * the binding after the put if it is accepted, else undefined (the store answers E_AUTH_FAILED / 403).
 */
export function authorizePut(held: WriteBinding | undefined, descriptorId: Uint8Array, ttlMs: number, value: Uint8Array, p: WriteProof): WriteBinding | undefined {
  if (held !== undefined) {
    if (p.serial <= held.serial) return undefined; // a replay, or a put older than the stored one
    if (!equalBytes(p.writeKey, held.key) && !handsOver(p.chain, descriptorId, held.key, p.writeKey)) return undefined;
  }
  if (!ed25519Verify(p.writeKey, putInput(descriptorId, p.serial, ttlMs, value), p.signature)) return undefined;
  return { key: p.writeKey.slice(), serial: p.serial };
}

/**
 * §R7 rule 2 Whether `chain` carries verified links from `from` to `to`: the walk starts after the last link
 * whose key is `from` (link p; or, if none is, at link 1 with `from` as key_0), each later link signed by the
 * key before it with a version above the one before it (the first: above link p's, any version for p = 0;
 * never compared with a state version or the serial), and must end at `to`. Links up to p are not checked.
 */
export function handsOver(chain: ChainLink[], descriptorId: Uint8Array, from: Uint8Array, to: Uint8Array): boolean {
  let index = 0;
  for (let i = chain.length; i > 0; i--) {
    if (equalBytes(chain[i - 1]!.key, from)) {
      index = i;
      break;
    }
  }
  const end = chainEnd(chain, descriptorId, { key: from, index });
  return end !== undefined && equalBytes(end, to);
}
