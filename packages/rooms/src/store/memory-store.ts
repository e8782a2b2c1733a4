/**
 * An in-process DescriptorStore: for tests and for apps whose members share one process (tabs use
 * BroadcastChannel). It enforces the write proofs of §R7 with the rooms-side verifier (proof.ts): the first
 * put binds an id to its write key, later puts must verify, raise the serial, and come from the bound key or
 * a successor the chain certifies. The binding lasts while the value is unexpired; once it has expired the
 * id is free and the next first put binds it again (docs/PROTOCOL.md §R7 says why that is acceptable).
 */
import { SealsigError } from '@sealsig/core';
import { authorizePut, decodeWriteProof, type WriteBinding } from './proof.js';
import { checkId, checkPut, type DescriptorStore } from './store.js';

/** Options of memoryDescriptorStore(). */
export interface MemoryDescriptorStoreOptions {
  /** Clock, ms (default Date.now). */
  now?: () => number;
  /** Entries kept at most (default 10,000); a put beyond it is E_RATE_LIMITED. */
  maxEntries?: number;
}

/** A DescriptorStore in memory (tests, one process), with the checks a store must make. */
export function memoryDescriptorStore(options: MemoryDescriptorStoreOptions = {}): DescriptorStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { value: Uint8Array; binding: WriteBinding; expires: number }>();
  const sweep = (t: number) => {
    for (const [k, e] of entries) if (e.expires <= t) entries.delete(k);
  };
  return {
    async put(id, value, opts) {
      const idBytes = checkPut(id, value, opts);
      const proof = decodeWriteProof(opts.proof);
      const t = now();
      sweep(t);
      const held = entries.get(id);
      const binding = authorizePut(held?.binding, idBytes, opts.ttlMs, value, proof);
      if (binding === undefined) throw new SealsigError('E_AUTH_FAILED', 'the write proof is not from the bound key or a successor it certified, or its serial is not newer');
      if (held === undefined && entries.size >= maxEntries) throw new SealsigError('E_RATE_LIMITED', 'descriptor store is full');
      entries.set(id, { value: value.slice(), binding, expires: t + opts.ttlMs });
    },
    async get(id) {
      checkId(id);
      const e = entries.get(id);
      if (e === undefined || e.expires <= now()) return undefined;
      return e.value.slice();
    },
  };
}
