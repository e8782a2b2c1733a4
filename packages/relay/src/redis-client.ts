/**
 * The command connection of the Redis-backed parts (PROTOCOL-RELAY.md §6: the engine, redis-engine.ts, and the
 * room descriptors, redis-descriptors.ts): an ioredis `Redis` for one server, or an ioredis `Cluster` for a
 * Redis Cluster, which sends each command to the primary serving its keys' slot, follows MOVED and ASK
 * redirections, and refreshes its slot map after a redirection or a failed node. Both have the same command
 * methods; the callers use them alike. Neither queues commands while it is not connected (redis-options.ts).
 */
import { Cluster, Redis } from 'ioredis';
import { redisOptions } from './redis-options.js';

export type RedisClient = Redis | Cluster;

/** Host, port and credentials of a redis:// or rediss:// URL (the subscriber connections, redis-shard-subscriber.ts). */
export interface RedisAddress {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
}

export function redisAddress(url: string): RedisAddress {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    tls: u.protocol === 'rediss:',
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
  };
}

/** A command client for `urls` (one server, or seeds of a cluster); connect() is the caller's (lazyConnect). */
export function commandClient(target: { urls: string[]; cluster: boolean }, autoPipelining = false): RedisClient {
  if (!target.cluster) return new Redis(target.urls[0]!, { ...redisOptions(), enableAutoPipelining: autoPipelining });
  const first = redisAddress(target.urls[0]!);
  return new Cluster(
    target.urls.map((u) => {
      const a = redisAddress(u);
      return { host: a.host, port: a.port };
    }),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: autoPipelining,
      scaleReads: 'master',
      clusterRetryStrategy: (times: number) => Math.min(50 * times, 1_000),
      redisOptions: {
        ...redisOptions(),
        ...(first.username === undefined ? {} : { username: first.username }),
        ...(first.password === undefined ? {} : { password: first.password }),
        ...(first.tls ? { tls: {} } : {}),
      },
    },
  );
}
