/**
 * The Redis descriptor table (src/descriptors.ts DescriptorStore; README.md "Room descriptors",
 * docs/PROTOCOL.md §R7, PROTOCOL-RELAY.md §6): the relay's sealed room descriptors kept in Redis, so that every
 * relay node on one Redis serves the same table. Used instead of the memory table when the relay runs with
 * `redis` (CLI `--redis`). Same rule as the memory table (authorizePut: the first put binds the id to its
 * write key, later puts need a newer serial and the bound key or a successor its chain certifies) and the
 * same limits.
 *
 * Keys:
 * - `<prefix>d:<id>` a hash: `v` the value (raw bytes), `k` the bound write key (32 raw bytes), `s` the serial
 *   (decimal). PEXPIRE min(ttl, maxTtlMs) on every put: Redis forgets the value and its binding together.
 * - `<prefix>d` a sorted set, the index for maxEntries: member = id, score = its expiry (Redis clock, ms).
 *
 * Atomicity (several nodes, one id): a put reads the stored binding (HMGET k s), runs authorizePut in JS (the
 * signature and chain checks need libsodium), then runs PUT below, a compare-and-set: it writes only if `k`
 * and `s` are still what was read (both absent for a free id). authorizePut's answer depends on nothing but
 * that binding, so an unchanged binding means the check still holds; a changed one (another node's put, an
 * expiry) makes the put read and check again, up to MAX_ATTEMPTS times, after which it answers 'unavailable'
 * (503, try again). Two puts with the same serial race to one 'stored' and one 'forbidden'.
 *
 * maxEntries: PUT also drops the index members whose score has passed (ZREMRANGEBYSCORE) and refuses a new id
 * ('full') while the index holds maxEntries ids — the same bound as the memory table, but for the whole shared
 * table, counted atomically with the write (give every node the same maxEntries). The count can only be high,
 * never low, and only for a key deleted behind the relay's back (it is counted until its expiry passes). The
 * index gets the longest TTL written to it, so an idle table leaves nothing behind. Both keys are named in
 * KEYS, but they are not in one cluster slot: this is for a single Redis (or a primary with replicas), as the
 * engine is used here (ioredis `Redis`, not `Cluster`).
 *
 * Availability: commands never wait in ioredis' offline queue; while the connection is not ready, put()
 * answers 'unavailable' and get() rejects with DescriptorsUnavailable at once (the endpoint answers 503 with
 * `retry-after`). Time comes from Redis (PEXPIRE, TIME); the `now` arguments are ignored.
 *
 * Gauges: `size` is the shared count as the last put through this node saw it; `bytes` is 0 (as the Redis
 * engine's retained bytes).
 */
import { Redis } from 'ioredis';
import { authorizePut, type WriteBinding } from './descriptor-proof.js';
import { checkPut, DESCRIPTOR_ID, DescriptorsUnavailable, type DescriptorLimits, type DescriptorStore, type PutResult } from './descriptors.js';
import type { RelayLogger } from './logger.js';
import { redisOptions } from './redis-options.js';

export interface RedisDescriptorOptions extends DescriptorLimits {
  /** redis:// or rediss:// */
  url: string;
  /** Default 'sealsig:' (as the Redis engine). */
  keyPrefix?: string;
  logger?: RelayLogger;
}

/** Read, check, compare-and-set rounds before a contended put answers 'unavailable'. */
export const MAX_ATTEMPTS = 4;

/**
 * KEYS: entry hash, index. ARGV: expected key ('' = absent), expected serial ('' = absent), value, key, serial,
 * ttl ms, maxEntries, id. Returns { 1 stored | 0 changed since the read | 2 full, ids in the index }.
 */
const PUT = `
local h, idx = KEYS[1], KEYS[2]
local cur = redis.call('HMGET', h, 'k', 's')
if (cur[1] or '') ~= ARGV[1] or (cur[2] or '') ~= ARGV[2] then return { 0, 0 } end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', idx, '-inf', string.format('%.0f', now))
if not cur[1] then
  local n = redis.call('ZCARD', idx)
  if n >= tonumber(ARGV[7]) and not redis.call('ZSCORE', idx, ARGV[8]) then return { 2, n } end
end
redis.call('HSET', h, 'v', ARGV[3], 'k', ARGV[4], 's', ARGV[5])
redis.call('PEXPIRE', h, ttl)
redis.call('ZADD', idx, string.format('%.0f', now + ttl), ARGV[8])
if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ttl) end
return { 1, redis.call('ZCARD', idx) }
`;

interface PutCommand {
  sealsigDescriptorPut(entry: string, index: string, ...args: (string | Buffer | number)[]): Promise<unknown>;
}

export class RedisDescriptorTable implements DescriptorStore {
  readonly kind = 'redis';
  readonly limits: DescriptorLimits;
  private readonly url: string;
  private readonly prefix: string;
  private readonly log: RelayLogger;
  private redis: (Redis & PutCommand) | undefined;
  private count = 0;
  private reported: boolean | undefined;
  private closed = false;
  private decided: (() => void) | undefined;

  constructor(options: RedisDescriptorOptions) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) throw new RangeError('url must be a redis:// or rediss:// URL');
    this.url = options.url;
    this.limits = { maxEntries: options.maxEntries, maxTtlMs: options.maxTtlMs, maxBytes: options.maxBytes };
    this.prefix = options.keyPrefix ?? 'sealsig:';
    this.log = options.logger ?? (() => {});
  }

  /** The shared count as the last put through this node saw it. */
  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return 0;
  }

  get available(): boolean {
    return !this.closed && this.redis?.status === 'ready';
  }

  async start(): Promise<void> {
    if (this.redis !== undefined || this.closed) return;
    const redis = new Redis(this.url, redisOptions()) as Redis & PutCommand;
    redis.defineCommand('sealsigDescriptorPut', { numberOfKeys: 2, lua: PUT });
    this.redis = redis;
    redis.on('error', (e: Error) => this.report(false, `redis: ${e.message}`));
    redis.on('close', () => this.report(false, 'redis connection closed'));
    redis.on('ready', () => this.report(true, 'redis ready'));
    const decided = new Promise<void>((resolve) => (this.decided = resolve));
    redis.connect().catch(() => {});
    await decided;
  }

  async put(id: string, value: Uint8Array, proofBytes: Uint8Array, ttlMs: number): Promise<PutResult> {
    const input = checkPut(id, value, proofBytes, ttlMs, this.limits);
    if (typeof input === 'string') return input;
    const { idBytes, proof } = input;
    const redis = this.redis;
    if (redis === undefined || !this.available) return 'unavailable';
    const key = this.key(id);
    const ttl = Math.min(ttlMs, this.limits.maxTtlMs);
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const [k, s] = await redis.hmgetBuffer(key, 'k', 's');
        const held = binding(k ?? null, s ?? null);
        if (held === 'corrupt') {
          this.log('warn', 'redis descriptor entry unreadable', { key });
          return 'unavailable';
        }
        const next = authorizePut(held, idBytes, ttlMs, value, proof);
        if (next === undefined) return 'forbidden';
        const reply = await redis.sealsigDescriptorPut(
          key,
          this.indexKey(),
          k ?? '',
          s ?? '',
          Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          Buffer.from(next.key),
          String(next.serial),
          ttl,
          this.limits.maxEntries,
          id,
        );
        const [outcome, count] = Array.isArray(reply) ? reply : [];
        if (typeof count === 'number' && outcome !== 0) this.count = count;
        if (outcome === 1) return 'stored';
        if (outcome === 2) return 'full';
        if (outcome !== 0) throw new Error('unexpected reply to the descriptor put script');
        // The binding changed since it was read (another node's put, an expiry): read and check again.
      }
      return 'unavailable';
    } catch (e) {
      this.log('warn', 'redis descriptor put failed', { error: e instanceof Error ? e.message : String(e) });
      return 'unavailable';
    }
  }

  async get(id: string): Promise<Uint8Array | undefined> {
    if (!DESCRIPTOR_ID.test(id)) return undefined;
    const redis = this.redis;
    if (redis === undefined || !this.available) throw new DescriptorsUnavailable('redis unavailable');
    let value: Buffer | null;
    try {
      value = await redis.hgetBuffer(this.key(id), 'v');
    } catch (e) {
      throw new DescriptorsUnavailable(`redis: ${e instanceof Error ? e.message : String(e)}`);
    }
    return value === null ? undefined : new Uint8Array(value);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.decided?.();
    const redis = this.redis;
    if (redis === undefined) return;
    if (redis.status === 'ready') await redis.quit().catch(() => {});
    redis.disconnect();
  }

  private report(available: boolean, reason: string): void {
    if (this.closed) return;
    this.decided?.();
    this.decided = undefined;
    if (this.reported === available) return;
    this.reported = available;
    this.log(available ? 'info' : 'warn', available ? 'redis descriptors available' : 'redis descriptors unavailable', { reason });
  }

  private key(id: string): string {
    return `${this.prefix}d:${id}`;
  }

  private indexKey(): string {
    return `${this.prefix}d`;
  }
}

/** The stored binding: undefined for a free id, 'corrupt' for fields this table did not write. */
function binding(k: Buffer | null, s: Buffer | null): WriteBinding | undefined | 'corrupt' {
  if (k === null && s === null) return undefined;
  if (k === null || s === null || k.length !== 32) return 'corrupt';
  const text = s.toString('latin1');
  const serial = Number(text);
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(serial)) return 'corrupt';
  return { key: new Uint8Array(k), serial };
}
