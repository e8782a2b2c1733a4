/**
 * The Redis settings of the relay (PROTOCOL-RELAY.md §6): the ioredis connection settings both Redis-backed
 * parts use (the engine, redis-engine.ts, and the room descriptors, redis-descriptors.ts): no offline queue
 * (a command fails at once while Redis is down, and the relay answers NACK 7 / 503), one retry per request,
 * and reconnects paced up to a second apart; and the Redis engine's options with their defaults.
 *
 * Dependencies point one way: options.ts and the Redis modules import this file, never the reverse.
 */
import type { RedisOptions } from 'ioredis';
import type { RelayLogger } from './logger.js';

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

/** createRedisEngine() options (RelayOptions.redis, plus the logger). */
export interface RedisEngineOptions {
  /** redis:// or rediss:// */
  url: string;
  /** Publications kept per stream (XADD MAXLEN ~: at least this many, a little more between trims). Default 1 000. */
  maxFrames?: number;
  /** Publications older than this are trimmed. Default 60 000 ms. */
  maxAgeMs?: number;
  /** history() without a recoverable `since` returns the publications younger than this. Default 30 000 ms. */
  replayMs?: number;
  /**
   * A topic's keys expire between this and this + a tenth of it after the topic's last publication (the
   * expiry is refreshed at most once every tenth of it per stream and node). Default max(2 x maxAgeMs, 300 000 ms).
   */
  streamTtlMs?: number;
  /** Default 'sealsig:'. */
  keyPrefix?: string;
  logger?: RelayLogger;
}

/** RedisEngineOptions validated, with every default filled in. */
export interface RedisEngineSettings {
  url: string;
  maxFrames: number;
  maxAgeMs: number;
  replayMs: number;
  streamTtlMs: number;
  /** How often (at most) a node refreshes a stream's expiry: streamTtlMs / 10. */
  refreshMs: number;
  /** The expiry set on a topic's keys: streamTtlMs + refreshMs (so they outlive the last publication by streamTtlMs at least). */
  expiryMs: number;
  /** How often (at most) a node trims a stream by age: min(1 000 ms, maxAgeMs) (frames live up to maxAgeMs + this). */
  ageCheckMs: number;
  keyPrefix: string;
  logger: RelayLogger;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
  return v;
}

/** Validates the options (RangeError) and fills in the defaults. */
export function redisEngineSettings(options: RedisEngineOptions): RedisEngineSettings {
  if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) throw new RangeError('url must be a redis:// or rediss:// URL');
  const maxAgeMs = positive('maxAgeMs', options.maxAgeMs, 60_000);
  const streamTtlMs = positive('streamTtlMs', options.streamTtlMs, Math.max(2 * maxAgeMs, 300_000));
  const refreshMs = Math.max(1, Math.floor(streamTtlMs / 10));
  return {
    url: options.url,
    maxFrames: positive('maxFrames', options.maxFrames, 1_000),
    maxAgeMs,
    replayMs: positive('replayMs', options.replayMs, 30_000),
    streamTtlMs,
    refreshMs,
    expiryMs: streamTtlMs + refreshMs,
    ageCheckMs: Math.min(1_000, maxAgeMs),
    keyPrefix: options.keyPrefix ?? 'sealsig:',
    logger: options.logger ?? (() => {}),
  };
}
