/**
 * The relay's sealed-room-descriptor table (README.md "Room descriptors", docs/PROTOCOL.md §R7): a bounded
 * in-memory map id -> { ciphertext, write key, serial, expiry }, one node's table (DescriptorStore below is
 * what the endpoint uses; src/redis-descriptors.ts is the table shared through Redis). The relay never sees what a value means: the
 * id is opaque and the value is ciphertext; the write key is the moderator's public Ed25519 key.
 *
 * Each put carries a write proof (src/descriptor-proof.ts). The first put binds an id to its write key; a
 * later put is stored only if its proof verifies, its serial is above the stored one, and its key is the
 * bound key or a successor the proof's moderator chain certifies from it; the binding then moves to that
 * key. Once a value has expired its binding goes with it: the next put binds the id afresh (§R7 says why that
 * is acceptable). Expired entries are swept lazily (on a full table, on read) and by the relay's timer. Time
 * comes from the caller, in ms, so the table is deterministic under test.
 */
import { authorizePut, parseWriteProof, type WriteBinding, type WriteProof } from './descriptor-proof.js';
import { fromB64u } from './token.js';

/** Descriptor ids: 16 bytes, base64url without padding. */
export const DESCRIPTOR_ID = /^[A-Za-z0-9_-]{22}$/;

export interface DescriptorLimits {
  /** Entries held at most; a put of a new id beyond it is refused ('full'). */
  maxEntries: number;
  /** Longest a value is kept, ms; longer TTLs are capped to it. */
  maxTtlMs: number;
  /** Largest value, bytes. */
  maxBytes: number;
}

/** 'unavailable': the shared table (Redis) cannot be reached or stayed contended; the client tries again (503). */
export type PutResult = 'stored' | 'forbidden' | 'full' | 'too_large' | 'bad_request' | 'unavailable';

/** The checks of a put that need no stored state, shared by both tables: the id's bytes and the parsed proof, or why not. */
export function checkPut(
  id: string,
  value: Uint8Array,
  proofBytes: Uint8Array,
  ttlMs: number,
  limits: DescriptorLimits,
): { idBytes: Uint8Array; proof: WriteProof } | 'bad_request' | 'too_large' {
  const idBytes = DESCRIPTOR_ID.test(id) ? fromB64u(id) : undefined;
  if (idBytes?.length !== 16) return 'bad_request';
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) return 'bad_request';
  if (value.length > limits.maxBytes) return 'too_large';
  const proof = parseWriteProof(proofBytes);
  return proof === undefined ? 'bad_request' : { idBytes, proof };
}

/** A descriptor table that cannot answer now (Redis unreachable): GET answers 503 with `retry-after`. */
export class DescriptorsUnavailable extends Error {
  override readonly name = 'DescriptorsUnavailable';
}

/**
 * What the endpoint needs of a descriptor table: the memory one below (one relay node), or the Redis one
 * (src/redis-descriptors.ts: shared by every node on one Redis, used when the relay runs with `redis`). Both
 * apply the same rule (authorizePut) and limits; the memory one answers synchronously.
 */
export interface DescriptorStore {
  readonly kind: 'memory' | 'redis';
  readonly limits: DescriptorLimits;
  /** Entries held (a gauge; see each implementation). */
  readonly size: number;
  /** Bytes of values held (0 for Redis). */
  readonly bytes: number;
  /** Connects (Redis); resolves once the first attempt succeeded or failed, never rejects. */
  start?(): Promise<void>;
  /** As DescriptorTable.put; 'unavailable' when the store cannot be reached. */
  put(id: string, value: Uint8Array, proofBytes: Uint8Array, ttlMs: number, now: number): PutResult | Promise<PutResult>;
  /** The unexpired value under id, or undefined; throws (rejects with) DescriptorsUnavailable. */
  get(id: string, now: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Releases what the table holds (memory: every entry; Redis: the connection, entries stay in Redis). */
  close(): void | Promise<void>;
}

interface Entry {
  value: Uint8Array;
  binding: WriteBinding;
  expires: number;
}

/** The memory table: one relay node's descriptors. */
export class DescriptorTable implements DescriptorStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Entry>();
  private held = 0;

  constructor(readonly limits: DescriptorLimits) {}

  /** Entries held (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes of values held. */
  get bytes(): number {
    return this.held;
  }

  /**
   * Stores value under id for min(ttlMs, maxTtlMs) from now, if the write proof allows it. The proof signs the
   * ttl the writer asked for (`ttlMs`), not the capped one.
   */
  put(id: string, value: Uint8Array, proofBytes: Uint8Array, ttlMs: number, now: number): PutResult {
    const input = checkPut(id, value, proofBytes, ttlMs, this.limits);
    if (typeof input === 'string') return input;
    const { idBytes, proof } = input;
    let held = this.live(id, now);
    const binding = authorizePut(held?.binding, idBytes, ttlMs, value, proof);
    if (binding === undefined) return 'forbidden';
    if (held === undefined && this.entries.size >= this.limits.maxEntries) {
      this.sweep(now);
      if (this.entries.size >= this.limits.maxEntries) return 'full';
    }
    held = this.entries.get(id);
    if (held !== undefined) this.held -= held.value.length;
    this.entries.set(id, { value: value.slice(), binding, expires: now + Math.min(ttlMs, this.limits.maxTtlMs) });
    this.held += value.length;
    return 'stored';
  }

  /** The unexpired value under id, or undefined. */
  get(id: string, now: number): Uint8Array | undefined {
    if (!DESCRIPTOR_ID.test(id)) return undefined;
    return this.live(id, now)?.value;
  }

  /** Drops every expired entry. */
  sweep(now: number): void {
    for (const [id, e] of this.entries) if (e.expires <= now) this.remove(id, e);
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  close(): void {
    this.clear();
  }

  /** The entry under id if unexpired; an expired one is dropped on the way. */
  private live(id: string, now: number): Entry | undefined {
    const e = this.entries.get(id);
    if (e === undefined) return undefined;
    if (e.expires > now) return e;
    this.remove(id, e);
    return undefined;
  }

  private remove(id: string, e: Entry): void {
    this.entries.delete(id);
    this.held -= e.value.length;
  }
}
