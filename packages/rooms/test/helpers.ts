import { createMemoryNetwork, type MemoryNetwork } from '@sealsig/core';
import type { Room, RoomEvents } from '../src/index.js';

/** Fast core timings for tests. */
export const fast = { heartbeatMs: 200, handshakeRetryMs: 100, handshakeTimeoutMs: 3_000 };

export function net(): MemoryNetwork {
  return createMemoryNetwork();
}

export function nextEvent<K extends keyof RoomEvents>(room: Room, type: K, ms = 5_000): Promise<RoomEvents[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${String(type)}`)), ms);
    room.once(type, (e) => {
      clearTimeout(t);
      resolve(e);
    });
  });
}

export async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
