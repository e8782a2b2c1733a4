/** The notification connections (src/redis-shard-subscriber.ts) against a real redis-server: a notification is two messages, head then body. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startRedis } from '@sealsig/transport-conformance';
import { redisAddress } from '../src/redis-client.js';
import { ShardSubscriber } from '../src/redis-shard-subscriber.js';
import { waitFor } from './helpers.js';

describe('ShardSubscriber, one Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let probe: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    probe?.disconnect();
    await redis?.stop();
  });

  function subscriber(): { sub: ShardSubscriber; messages: [string, string, string][]; lost: string[] } {
    const messages: [string, string, string][] = [];
    const lost: string[] = [];
    const sub = new ShardSubscriber(redisAddress(redis.url), false, {
      message: (channel, head, body) => messages.push([channel.toString(), head.toString(), body.toString()]),
      lost: (channel) => lost.push(channel),
      route: () => undefined,
    });
    onTestFinished(() => sub.close());
    return { sub, messages, lost };
  }

  it('pairs each head with the body published right after it, per channel, in order', async () => {
    const { sub, messages, lost } = subscriber();
    await sub.subscribe('p:x');
    await sub.subscribe('p:y');
    const both = `redis.call('SPUBLISH', KEYS[1], ARGV[1]) redis.call('SPUBLISH', KEYS[1], ARGV[2])`;
    for (const [channel, head, body] of [['p:x', 'h1', 'b1'], ['p:y', 'h2', 'b2'], ['p:x', 'h3', 'b3']] as const) await probe.eval(both, 1, channel, head, body);
    await waitFor(() => messages.length === 3, 10_000, 'three notifications');
    expect(messages).toEqual([['p:x', 'h1', 'b1'], ['p:y', 'h2', 'b2'], ['p:x', 'h3', 'b3']]);
    expect(lost).toEqual([]);
  });

  it('a head followed by a message of another channel (never sent by APPEND) closes the connection: every channel is reported lost, nothing is delivered', async () => {
    const { sub, messages, lost } = subscriber();
    await sub.subscribe('q:x');
    await sub.subscribe('q:y');
    await probe.spublish('q:x', 'head');
    await probe.spublish('q:y', 'not its body');
    await waitFor(() => lost.length === 2, 10_000, 'both channels lost');
    expect(lost.sort()).toEqual(['q:x', 'q:y']);
    expect(messages).toEqual([]);
    await sub.subscribe('q:x'); // subscribed again, on a new connection: pairs start afresh
    await probe.eval(`redis.call('SPUBLISH', KEYS[1], ARGV[1]) redis.call('SPUBLISH', KEYS[1], ARGV[2])`, 1, 'q:x', 'h', 'b');
    await waitFor(() => messages.length === 1, 10_000, 'a notification');
    expect(messages).toEqual([['q:x', 'h', 'b']]);
  });
});
