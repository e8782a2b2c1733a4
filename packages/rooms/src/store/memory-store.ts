/** An in-process DescriptorStore: for tests and for apps whose members share one process (tabs use BroadcastChannel). */
import { SealsigError } from '@sealsig/core';
import { DESCRIPTOR_ID_PATTERN, DESCRIPTOR_MAX_BYTES, WRITE_TOKEN_BYTES, type DescriptorPutOptions, type DescriptorStore } from './store.js';

export interface MemoryDescriptorStoreOptions {
  /** Clock, ms (default Date.now). */
  now?: () => number;
  /** Entries kept at most (default 10,000); a put beyond it is E_RATE_LIMITED. */
  maxEntries?: number;
}

export function checkPut(id: string, value: Uint8Array, options: DescriptorPutOptions): void {
  if (typeof id !== 'string' || !DESCRIPTOR_ID_PATTERN.test(id)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id must be 22 base64url characters');
  if (!(value instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor value must be a Uint8Array');
  if (value.length > DESCRIPTOR_MAX_BYTES) throw new SealsigError('E_FRAME_TOO_LARGE', `descriptor of ${value.length} bytes exceeds ${DESCRIPTOR_MAX_BYTES}`);
  if (!Number.isSafeInteger(options?.ttlMs) || options.ttlMs < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be a positive integer');
  if (!(options.writeToken instanceof Uint8Array) || options.writeToken.length !== WRITE_TOKEN_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `writeToken must be ${WRITE_TOKEN_BYTES} bytes`);
  }
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
      const token = Array.from(opts.writeToken, (b) => b.toString(16).padStart(2, '0')).join('');
      const held = entries.get(id);
      if (held !== undefined && held.token !== token) throw new SealsigError('E_AUTH_FAILED', 'descriptor id is held under another write token');
      if (held === undefined && entries.size >= maxEntries) throw new SealsigError('E_RATE_LIMITED', 'descriptor store is full');
      entries.set(id, { value: value.slice(), token, expires: t + opts.ttlMs });
    },
    async get(id) {
      if (typeof id !== 'string' || !DESCRIPTOR_ID_PATTERN.test(id)) throw new SealsigError('E_INVALID_ARGUMENT', 'descriptor id must be 22 base64url characters');
      const e = entries.get(id);
      if (e === undefined || e.expires <= now()) return undefined;
      return e.value.slice();
    },
  };
}
