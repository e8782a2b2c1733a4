/** An in-process DescriptorStore: for tests and for apps whose members share one process (tabs use BroadcastChannel). */
import { SealsigError, toHex } from '@sealsig/core';
import { checkId, checkPut, type DescriptorStore } from './store.js';

export interface MemoryDescriptorStoreOptions {
  /** Clock, ms (default Date.now). */
  now?: () => number;
  /** Entries kept at most (default 10,000); a put beyond it is E_RATE_LIMITED. */
  maxEntries?: number;
}


export function memoryDescriptorStore(options: MemoryDescriptorStoreOptions = {}): DescriptorStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { value: Uint8Array; token: string; expires: number }>();
  const sweep = (t: number) => {
    for (const [k, e] of entries) if (e.expires <= t) entries.delete(k);
  };
  return {
    async put(id, value, opts) {
      checkPut(id, value, opts);
      const t = now();
      sweep(t);
      const token = toHex(opts.writeToken);
      const held = entries.get(id);
      if (held !== undefined && held.token !== token) throw new SealsigError('E_AUTH_FAILED', 'descriptor id is held under another write token');
      if (held === undefined && entries.size >= maxEntries) throw new SealsigError('E_RATE_LIMITED', 'descriptor store is full');
      entries.set(id, { value: value.slice(), token, expires: t + opts.ttlMs });
    },
    async get(id) {
      checkId(id);
      const e = entries.get(id);
      if (e === undefined || e.expires <= now()) return undefined;
      return e.value.slice();
    },
  };
}
