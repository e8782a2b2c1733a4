/**
 * createRelay() options and their defaults (README.md "Options"). Validated once, up front: a bad option
 * is a RelayError E_INVALID_ARGUMENT from createRelay(), never a failure later under load.
 */
import type { DescriptorEndpointOptions } from './descriptor-endpoint.js';
import { invalid } from './errors.js';
import type { RateLimit } from './rate-limit.js';
import type { MemoryEngineOptions } from './memory-engine.js';
import type { RelayLogger } from './logger.js';
import { redisTarget, type RedisEngineOptions } from './redis-options.js';
import { secretKey } from './token.js';
import type { TurnEndpointOptions } from './turn-endpoint.js';
import { resolveTurn } from './turn.js';

export type { RelayLogger } from './logger.js';

/** Options of createRelay(); every one has a default. */
export interface RelayOptions {
  /** Interface to listen on. Default '127.0.0.1' (use '0.0.0.0' or '::' to serve the network). */
  host?: string;
  /** TCP port; 0 picks a free one (see listen()'s result). Default 0. */
  port?: number;
  /** Largest frame a PUBLISH may carry, in bytes (the message may add 66 bytes). Default 65 536. */
  maxFrameBytes?: number;
  /** Per-connection rate limits (token buckets) and the flood rule. */
  rateLimit?: {
    /** PUBLISH (and malformed) messages per connection. Default 100/s, burst 200. */
    frames?: RateLimit;
    /** SUBSCRIBE/UNSUBSCRIBE per connection. Default 20/s, burst 128 (a reconnect resubscribes every topic at once). */
    subscriptions?: RateLimit;
    /** Rate-limited messages within `floodWindowMs` after which the connection is closed 4008. Default 200. */
    floodDrops?: number;
    /** Default 10 000 ms. */
    floodWindowMs?: number;
  };
  /** Topics one connection may be subscribed to at once (a sealsig session holds two, a moderated room four). Default 128. */
  maxTopicsPerConnection?: number;
  /** Open connections, in all. Default 10 000. */
  maxConnections?: number;
  /** Open connections per client IP. Default 100. */
  maxConnectionsPerIp?: number;
  /** Ping interval; a connection that has not answered the previous ping is terminated. 0 disables. Default 30 000 ms. */
  heartbeatMs?: number;
  /** A connection whose send buffer exceeds this is closed 4010 (slow consumer). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Allowed Origin header values (exact match, e.g. 'https://app.example'). Absent: any origin. */
  allowedOrigins?: string[];
  /** Admission tokens: when set, every connection must present `?token=` minted with this secret. */
  admission?: {
    /** The HMAC secret tokens are minted with (mintAdmissionToken); a string is taken as UTF-8. */
    secret: Uint8Array | string;
  };
  /**
   * The memory engine's streams (PROTOCOL-RELAY.md §3.4): what a late subscriber is replayed, and how long a
   * client can be away and still resume without a gap. `false` keeps nothing (every resume is a gap).
   */
  retention?: MemoryEngineOptions | false;
  /**
   * The Redis engine instead (any number of nodes on one Redis or one Redis Cluster: `cluster` or `seeds`,
   * PROTOCOL-RELAY.md §6): streams live in Redis.
   */
  redis?: Omit<RedisEngineOptions, 'logger'>;
  /** Serve the files of this directory over plain HTTP GET (the demo page). */
  staticDir?: string;
  /** Receives the relay's log lines. Default: none. */
  logger?: RelayLogger;
  /** On close(): how long /healthz answers 503 before clients are told to leave. Default 0. */
  drainDelayMs?: number;
  /** On close(): how long to wait for clients to go before terminating them. Default 5 000 ms. */
  drainTimeoutMs?: number;
  /** Take the client IP from the last X-Forwarded-For entry (behind one trusted proxy). Default false. */
  trustProxy?: boolean;
  /**
   * Serve short-lived TURN credentials (coturn `use-auth-secret`) at `GET /turn?token=<admission token>`
   * (README.md "TURN credentials"). Requires `admission`. `secret` is coturn's `static-auth-secret`.
   * `rateLimit`: requests to /turn per client address (429 beyond it). Default 5/s, burst 20.
   */
  turn?: {
    /** coturn's static-auth-secret. */
    secret: Uint8Array | string;
    /** TURN URLs handed out (turn:, turns:). */
    urls: string[];
    /** Credential lifetime. Default 86 400 (one day). */
    ttlSeconds?: number;
    /** Requests to /turn per client address. */
    rateLimit?: RateLimit;
  };
  /**
   * Sealed room descriptors at `PUT/GET /descriptors/<id>` (README.md "Room descriptors"); `false` turns the
   * endpoint off. On by default.
   */
  descriptors?: DescriptorOptions | false;
}

/** Limits of the room descriptor endpoint (RelayOptions.descriptors). */
export interface DescriptorOptions {
  /** Descriptors held at once. Default 10 000; a PUT of a new id beyond it gets 429. */
  maxEntries?: number;
  /** Longest a descriptor is kept, ms (longer TTLs are capped). Default 3 600 000 (one hour). */
  maxTtlMs?: number;
  /** Largest descriptor, bytes. Default 4096. */
  maxBytes?: number;
  /** PUT and GET requests per client address. Default 10/s, burst 30. */
  rateLimit?: RateLimit;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  frames: RateLimit;
  subscriptions: RateLimit;
  floodDrops: number;
  floodWindowMs: number;
  maxTopicsPerConnection: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  allowedOrigins: Set<string> | undefined;
  admissionKey: Uint8Array | undefined;
  retention: MemoryEngineOptions;
  redis: Omit<RedisEngineOptions, 'logger'> | undefined;
  staticDir: string | undefined;
  logger: RelayLogger;
  drainDelayMs: number;
  drainTimeoutMs: number;
  trustProxy: boolean;
  turn: TurnEndpointOptions | undefined;
  descriptors: DescriptorEndpointOptions | undefined;
}

function int(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer in ${min}..${max}`);
  return v;
}

function rate(name: string, value: RateLimit | undefined, fallback: RateLimit): RateLimit {
  const v = value ?? fallback;
  if (typeof v !== 'object' || v === null || !(v.perSecond > 0) || !(v.burst >= 1)) {
    throw invalid(`${name} needs perSecond > 0 and burst >= 1`);
  }
  return { perSecond: v.perSecond, burst: v.burst };
}

export function resolveOptions(o: RelayOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw invalid('options must be an object');
  const r = o.rateLimit ?? {};
  if (o.allowedOrigins !== undefined && (!Array.isArray(o.allowedOrigins) || o.allowedOrigins.some((x) => typeof x !== 'string'))) {
    throw invalid('allowedOrigins must be an array of strings');
  }
  try {
    if (o.redis !== undefined) redisTarget(o.redis); // the engine's own check (url, seeds), as a RelayError
  } catch (e) {
    throw e instanceof RangeError ? invalid(`redis.${e.message}`) : e;
  }
  if (o.turn !== undefined && o.admission === undefined) {
    // Without admission tokens /turn would hand TURN relaying to anyone who asks.
    throw invalid('turn requires admission: /turn is authorised by admission tokens');
  }
  return {
    host: o.host ?? '127.0.0.1',
    port: int('port', o.port, 0, 0, 65_535),
    maxFrameBytes: int('maxFrameBytes', o.maxFrameBytes, 65_536, 1, 16 * 1024 * 1024),
    frames: rate('rateLimit.frames', r.frames, { perSecond: 100, burst: 200 }),
    subscriptions: rate('rateLimit.subscriptions', r.subscriptions, { perSecond: 20, burst: 128 }),
    floodDrops: int('rateLimit.floodDrops', r.floodDrops, 200, 1, 1e9),
    floodWindowMs: int('rateLimit.floodWindowMs', r.floodWindowMs, 10_000, 1, 3_600_000),
    maxTopicsPerConnection: int('maxTopicsPerConnection', o.maxTopicsPerConnection, 128, 1, 10_000),
    maxConnections: int('maxConnections', o.maxConnections, 10_000, 1, 10_000_000),
    maxConnectionsPerIp: int('maxConnectionsPerIp', o.maxConnectionsPerIp, 100, 1, 10_000_000),
    heartbeatMs: int('heartbeatMs', o.heartbeatMs, 30_000, 0, 3_600_000),
    maxBufferedBytes: int('maxBufferedBytes', o.maxBufferedBytes, 1024 * 1024, 1, 2 ** 31),
    allowedOrigins: o.allowedOrigins === undefined ? undefined : new Set(o.allowedOrigins),
    admissionKey: o.admission === undefined ? undefined : secretKey(o.admission.secret),
    retention: o.retention === false ? { maxFrames: 0 } : (o.retention ?? {}),
    redis: o.redis,
    staticDir: o.staticDir,
    logger: o.logger ?? (() => {}),
    drainDelayMs: int('drainDelayMs', o.drainDelayMs, 0, 0, 600_000),
    drainTimeoutMs: int('drainTimeoutMs', o.drainTimeoutMs, 5_000, 0, 600_000),
    trustProxy: o.trustProxy ?? false,
    turn: o.turn === undefined ? undefined : { ...resolveTurn(o.turn), rateLimit: rate('turn.rateLimit', o.turn.rateLimit, { perSecond: 5, burst: 20 }) },
    descriptors: resolveDescriptors(o.descriptors),
  };
}

function resolveDescriptors(d: DescriptorOptions | false | undefined): DescriptorEndpointOptions | undefined {
  if (d === false) return undefined;
  if (d !== undefined && (typeof d !== 'object' || d === null)) throw invalid('descriptors must be an object or false');
  const v = d ?? {};
  return {
    maxEntries: int('descriptors.maxEntries', v.maxEntries, 10_000, 1, 10_000_000),
    maxTtlMs: int('descriptors.maxTtlMs', v.maxTtlMs, 3_600_000, 1, 7 * 24 * 3_600_000),
    maxBytes: int('descriptors.maxBytes', v.maxBytes, 4096, 1, 1024 * 1024),
    rateLimit: rate('descriptors.rateLimit', v.rateLimit, { perSecond: 10, burst: 30 }),
  };
}
