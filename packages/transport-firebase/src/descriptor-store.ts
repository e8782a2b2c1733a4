/**
 * A sealed-room-descriptor store on Firebase Realtime Database (docs/PROTOCOL.md §R7; README.md "Room
 * descriptors"). It has the shape of @sealsig/rooms' DescriptorStore (declared here again, so that this
 * package does not depend on @sealsig/rooms):
 *
 *   ${path}/${id} = { v: base64url(sealed descriptor), exp: server time of expiry (ms) }
 *
 * `get` returns undefined when the entry is missing, expired (by the server's clock, as the client knows it
 * through `.info/serverTimeOffset`) or malformed. `put` writes the entry.
 *
 * The documented limit (docs/PROTOCOL.md §R7): the write proof of a put is checked by stores that can verify
 * Ed25519 signatures (the relay's /descriptors, memoryDescriptorStore). Realtime Database rules cannot, so
 * this store takes the proof and does not check it: whoever knows the id (every invite holder) can overwrite
 * or delete the entry, with garbage or with a recorded older descriptor. What protects readers here is what
 * they check themselves: the moderator's signature and the invite's pin (a forgery is E_AUTH_FAILED, so the
 * room looks absent, never wrong), the signed expiry (E_STALE / not live), and a DescriptorReader's memory
 * of the newest serial (an older one is E_STALE). The rules forbid listing, so the id stays unknown to anyone
 * without the invite. For a store that refuses other writers, use the relay's endpoint.
 */
import type { Database } from 'firebase/database';
import { get, onValue, ref, set } from 'firebase/database';
import { SealsigError, fromBase64Url, toBase64Url } from '@sealsig/core';
import { encodedLength } from './frame-child.js';
import { DATABASE_PATH } from './paths.js';

/** The largest sealed descriptor (DESCRIPTOR_MAX_BYTES of @sealsig/rooms). */
export const DESCRIPTOR_MAX_BYTES = 4096;
/** The longest time a descriptor is kept (database.rules.json allows `exp` up to now + this + 60 s of clock skew). */
export const DESCRIPTOR_MAX_TTL_MS = 3_600_000;
const ID = /^[A-Za-z0-9_-]{22}$/;
/** The largest write proof (MAX_PROOF_BYTES of @sealsig/rooms). */
const MAX_PROOF_BYTES = 2048;

/** Same shape as @sealsig/rooms' DescriptorPutOptions. */
export interface DescriptorPutOptions {
  /** How long the store keeps the value, ms (capped at DESCRIPTOR_MAX_TTL_MS). */
  ttlMs: number;
  /** The write proof (§R7), 1..2048 bytes: required by the contract, not checked here (rules cannot verify signatures). */
  proof: Uint8Array;
}

/** Same shape as @sealsig/rooms' DescriptorStore. */
export interface DescriptorStore {
  /** Stores (or replaces) the value under id until ttlMs from now. */
  put(id: string, value: Uint8Array, options: DescriptorPutOptions): Promise<void>;
  /** The unexpired value under id, or undefined. */
  get(id: string): Promise<Uint8Array | undefined>;
}

/** Options of firebaseDescriptorStore(). */
export interface FirebaseDescriptorStoreOptions {
  /** Where entries live (default 'sealsig-descriptors'); rename the key in database.rules.json to match. */
  path?: string;
  /** Per operation, ms (default 10 000); past it the operation fails with E_TRANSPORT. */
  timeoutMs?: number;
}

interface Entry {
  v: string;
  exp: number;
}

function assertId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id must be 22 base64url characters');
}

/** The stored entry, if it has exactly the shape the rules allow. */
function parseEntry(raw: unknown): Entry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  if (Object.keys(e).length !== 2) return undefined;
  const { v, exp } = e;
  if (typeof v !== 'string' || v.length > encodedLength(DESCRIPTOR_MAX_BYTES)) return undefined;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  return { v, exp };
}

/** A room descriptor store (§R7) in the Realtime Database, for @sealsig/rooms. */
export function firebaseDescriptorStore(db: Database, options: FirebaseDescriptorStoreOptions = {}): DescriptorStore {
  if (typeof db !== 'object' || db === null) throw new SealsigError('E_INVALID_ARGUMENT', 'db must be a firebase Database');
  if (typeof options !== 'object' || options === null) throw new SealsigError('E_INVALID_ARGUMENT', 'options must be an object');
  const path = options.path ?? 'sealsig-descriptors';
  if (typeof path !== 'string' || !DATABASE_PATH.test(path)) throw new SealsigError('E_INVALID_ARGUMENT', 'path must be 1 to 8 keys of [A-Za-z0-9_-] separated by /');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'timeoutMs must be a positive integer');

  /** The server's clock as this client knows it (local clock + `.info/serverTimeOffset`). */
  const serverNow = (): Promise<number> =>
    new Promise((resolve) => {
      onValue(
        ref(db, '.info/serverTimeOffset'),
        (snap) => {
          const offset: unknown = snap.val();
          resolve(Date.now() + (typeof offset === 'number' && Number.isFinite(offset) ? offset : 0));
        },
        () => resolve(Date.now()),
        { onlyOnce: true },
      );
    });

  /** Runs a database operation with the timeout; SDK failures become E_TRANSPORT. */
  const withTimeout = async <T>(what: string, op: Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SealsigError('E_TRANSPORT', `descriptor ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([op, timeout]);
    } catch (e) {
      if (e instanceof SealsigError) throw e;
      throw new SealsigError('E_TRANSPORT', `descriptor ${what} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  };

  const read = async (id: string): Promise<Entry | undefined> => {
    const snap = await withTimeout('read', get(ref(db, `${path}/${id}`)));
    return parseEntry(snap.val());
  };

  return {
    async put(id, value, opts) {
      assertId(id);
      if (!(value instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor value must be a Uint8Array');
      if (value.length > DESCRIPTOR_MAX_BYTES) throw new SealsigError('E_FRAME_TOO_LARGE', `descriptor of ${value.length} bytes exceeds ${DESCRIPTOR_MAX_BYTES}`);
      if (!Number.isSafeInteger(opts?.ttlMs) || opts.ttlMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be a positive integer');
      if (!(opts.proof instanceof Uint8Array) || opts.proof.length < 1 || opts.proof.length > MAX_PROOF_BYTES) {
        throw new SealsigError('E_INVALID_ARGUMENT', `proof must be 1..${MAX_PROOF_BYTES} bytes`);
      }
      const entry: Entry = { v: toBase64Url(value), exp: (await serverNow()) + Math.min(opts.ttlMs, DESCRIPTOR_MAX_TTL_MS) };
      await withTimeout('write', set(ref(db, `${path}/${id}`), entry));
    },
    async get(id) {
      assertId(id);
      const entry = await read(id);
      if (entry === undefined || entry.exp <= (await serverNow())) return undefined;
      return fromBase64Url(entry.v); // canonical only (core's decoder); parseEntry bounded its length
    },
  };
}
