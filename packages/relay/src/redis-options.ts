/**
 * The ioredis connection settings both Redis-backed parts of the relay use (the engine, redis-engine.ts, and
 * the room descriptors, redis-descriptors.ts): no offline queue (a command fails at once while Redis is down,
 * and the relay answers NACK 7 / 503), one retry per request, and reconnects paced up to a second apart.
 */
import type { RedisOptions } from 'ioredis';

/** Command and connect timeout. */
const CONNECT_TIMEOUT_MS = 2_000;
/** The longest wait between reconnect attempts. */
const RETRY_MAX_MS = 1_000;

/** A fresh options object (callers add their own fields); connect() is called by the caller (lazyConnect). */
export function redisOptions(): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(50 * times, RETRY_MAX_MS),
  };
}
