/** The Redis Cluster harness the relay's cluster tests stand on: real processes, a real failover, a real slot move. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../src/index.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('startRedisCluster', () => {
  it('starts three primaries with one replica each, serving every slot', async () => {
    const nodes = await cluster.nodes();
    const primaries = nodes.filter((n) => n.role === 'primary');
    expect(primaries).toHaveLength(3);
    expect(nodes.filter((n) => n.role === 'replica').map((n) => n.primaryId).sort()).toEqual(primaries.map((n) => n.id).sort());
    expect(primaries.flatMap((n) => n.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0)).toBe(16_384);
    expect(cluster.urls).toHaveLength(6);
  });

  it('hashes keys with the same hash tag to one slot', async () => {
    expect(await cluster.keySlot('{topic-a}:stream')).toBe(await cluster.keySlot('{topic-a}:epoch'));
    expect(await cluster.keySlot('{topic-a}:stream')).toBe(await cluster.keySlot('topic-a'));
  });

  it('moves a slot with its keys; clients are redirected to the new primary', async () => {
    const key = '{moving}:k';
    const slot = await cluster.keySlot(key);
    const from = await cluster.primaryOf(slot);
    expect(await cluster.cli(from, 'set', key, 'v1')).toContain('OK');
    const to = (await cluster.nodes()).find((n) => n.role === 'primary' && n.port !== from)!.port;
    const during: string[] = [];
    await cluster.moveSlot(slot, to, async () => {
      during.push(await cluster.cli(from, 'get', key)); // before its keys move, and after (an ASK then)
    });
    expect(during[0]).toContain('v1');
    expect(during[1]).toMatch(/ASK/);
    expect(await cluster.primaryOf(slot)).toBe(to);
    expect((await cluster.cli(to, 'get', key)).trim()).toBe('v1');
    expect(await cluster.cli(from, 'get', key)).toMatch(/MOVED/);
  }, 60_000);

  it('promotes the replica of a killed primary', async () => {
    const slot = await cluster.keySlot('{failover}');
    const primary = await cluster.primaryOf(slot);
    const nodes = await cluster.nodes();
    const primaryId = nodes.find((n) => n.port === primary)!.id;
    const replica = nodes.find((n) => n.primaryId === primaryId)!.port;
    await cluster.kill(primary);
    await cluster.waitHealthy(60_000);
    expect(await cluster.primaryOf(slot)).toBe(replica);
  }, 90_000);
});

