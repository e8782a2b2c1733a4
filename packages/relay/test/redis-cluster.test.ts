/**
 * The Redis engine and the descriptor table on a real Redis Cluster (startRedisCluster: 3 primaries with a
 * replica each, real redis-server processes on free ports): topics on every shard, sharded pub/sub, history
 * and resume across relay nodes, the failover epoch rule (redis-scripts.ts GENERATION), descriptors in one slot.
 * The faults (a primary killed, a slot moved, a relay node killed, while publishing) are in
 * redis-cluster-faults.test.ts.
 */
import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startRedisCluster, type RedisCluster } from '@sealsig/transport-conformance';
import type { Engine, Publication } from '../src/engine.js';
import { sodiumReady } from '../src/index.js';
import { RedisDescriptorTable } from '../src/redis-descriptors.js';
import { createRedisEngine } from '../src/redis-engine.js';
import { keySlot } from '../src/redis-shard-subscriber.js';
import { proof, writer } from './descriptor-proofs.js';
import { connect, startRelay, text, waitFor } from './helpers.js';

const LONG = 20_000;

let cluster: RedisCluster;
beforeAll(async () => {
  await sodiumReady();
  await sodium.ready;
  cluster = await startRedisCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

interface Node {
  engine: Engine;
  delivered: { topic: string; epoch: string; publication: Publication }[];
}

async function node(): Promise<Node> {
  const delivered: Node['delivered'] = [];
  const engine = createRedisEngine({ url: cluster.urls[0]!, cluster: true });
  onTestFinished(() => engine.close());
  await engine.start({
    publication: (topic, epoch, publication) => delivered.push({ topic, epoch: Buffer.from(epoch).toString('hex'), publication }),
    availability: () => {},
  });
  await waitFor(() => engine.available, LONG, 'engine available');
  return { engine, delivered };
}

/** One topic per primary: names whose slot each primary serves. */
async function topicPerPrimary(base: string): Promise<string[]> {
  const primaries = (await cluster.nodes()).filter((n) => n.role === 'primary' && n.slots.length > 0);
  const topics: string[] = [];
  for (const p of primaries) {
    for (let i = 0; ; i++) {
      const t = `${base}-${i}`;
      const slot = keySlot(`sealsig:s:{${t}}`);
      if (p.slots.some(([a, b]) => a <= slot && slot <= b)) {
        topics.push(t);
        break;
      }
    }
  }
  return topics;
}

describe('Redis engine on a Redis Cluster', () => {
  it('keySlot() is CLUSTER KEYSLOT (hash tags included)', async () => {
    const fixed = ['sealsig:n:{AAAAAAAAAAAAAAAAAAAAAA}', 'sealsig:{d}:x', 'plain', '{}', 'a{}b{c}', '{x'];
    for (const k of fixed) expect(keySlot(k)).toBe(await cluster.keySlot(k));
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }), async (s) => {
        const key = `p:{${s}}`;
        expect(keySlot(key)).toBe(await cluster.keySlot(key));
      }),
      { numRuns: 20 },
    );
  });

  it('two nodes, a topic on each primary: publications reach the other node in order, same epoch and offset; history recovers', async () => {
    const a = await node();
    const b = await node();
    const topics = await topicPerPrimary('spread');
    expect(new Set(await Promise.all(topics.map(async (t) => cluster.primaryOf(await cluster.keySlot(`x{${t}}`))))).size).toBe(3);
    for (const t of topics) await b.engine.subscribe(t);
    const stored = await Promise.all(topics.flatMap((t) => [0, 1, 2].map((i) => a.engine.publish(t, text(`${t}:${i}`), 5))));
    await waitFor(() => b.delivered.length === 9, LONG, 'every publication on B');
    for (const [k, t] of topics.entries()) {
      const got = b.delivered.filter((d) => d.topic === t);
      expect(got.map((d) => Buffer.from(d.publication.frame).toString())).toEqual([0, 1, 2].map((i) => `${t}:${i}`));
      expect(got.map((d) => d.publication.offset)).toEqual(stored.slice(3 * k, 3 * k + 3).map((s) => s.offset));
      expect(got.every((d) => d.epoch === Buffer.from(stored[3 * k]!.epoch).toString('hex') && d.publication.from === 0)).toBe(true);
      const h = await b.engine.history(t, { epoch: stored[3 * k]!.epoch, offset: stored[3 * k]!.offset });
      expect(h.recovered).toBe(true);
      expect(h.publications.map((p) => p.offset)).toEqual(stored.slice(3 * k + 1, 3 * k + 3).map((s) => s.offset));
    }
    // SPUBLISH: each notification reached one shard only (the subscriber is on the topic's primary).
    const channel = `sealsig:n:{${topics[0]}}`;
    const owner = await cluster.primaryOf(await cluster.keySlot(channel));
    expect(await cluster.cli(owner, 'pubsub', 'shardnumsub', channel)).toMatch(/\n1\s*$/);
    for (const other of cluster.urls.map((u) => Number(new URL(u).port)).filter((p) => p !== owner)) {
      expect(await cluster.cli(other, 'pubsub', 'shardnumsub', channel)).toMatch(/\n0\s*$/);
    }
  });

  it("a replica promoted in place of its primary: the shard's streams get a new epoch (a position before it is a gap)", async () => {
    // Promoted gracefully (CLUSTER FAILOVER on the replica: nothing lost): the rule cannot tell, and bumps.
    const a = await node();
    const [topic] = await topicPerPrimary('promoted');
    const before = await a.engine.publish(topic!, text('before'), 1);
    const slot = await cluster.keySlot(`x{${topic}}`);
    const primary = await cluster.primaryOf(slot);
    const nodes = await cluster.nodes();
    const replica = nodes.find((n) => n.primaryId === nodes.find((p) => p.port === primary)!.id)!;
    await cluster.cli(replica.port, 'cluster', 'failover');
    const deadline = Date.now() + LONG;
    while ((await cluster.primaryOf(slot)) !== replica.port && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await cluster.primaryOf(slot)).toBe(replica.port);
    await cluster.waitHealthy();
    const h = await waitForHistory(a.engine, topic!, before);
    expect(h.recovered).toBe(false);
    expect(Buffer.from(h.epoch).equals(Buffer.from(before.epoch))).toBe(false);
    const after = await a.engine.publish(topic!, text('after'), 1);
    expect(Buffer.from(after.epoch).equals(h.epoch)).toBe(true);
    // Once bumped, the stream resumes normally on the new primary.
    expect((await a.engine.history(topic!, { epoch: after.epoch, offset: after.offset })).recovered).toBe(true);
  });

  it('relay nodes on the cluster: clients exchange frames; a client resumes on the other node from its position', async () => {
    const [x, y] = await Promise.all([0, 1].map(() => startRelay({ redis: { url: cluster.urls[1]!, seeds: [cluster.urls[2]!] } })));
    onTestFinished(() => Promise.all([x!.relay.close(), y!.relay.close()]).then(() => undefined));
    const topics = await topicPerPrimary('relay');
    const cx = await connect(x!.url);
    const cy = await connect(y!.url);
    for (const t of topics) {
      expect(await cx.subscribe(t)).toBe(false);
      await cy.subscribe(t);
    }
    // Both nodes' engines serve (a cluster that just failed over in the test before may still be settling: a
    // PUBLISH meanwhile is refused with NACK 7, which this client does not send again).
    await waitFor(() => x!.relay.metrics().engineAvailable === 1 && y!.relay.metrics().engineAvailable === 1, LONG, 'both engines available');
    for (const t of topics) for (let i = 0; i < 5; i++) cx.publish(t, text(`${t}:${i}`));
    await waitFor(() => topics.every((t) => cy.delivered(t).length === 5), LONG, () => `frames on y: ${topics.map((t) => cy.delivered(t).length)}; x received ${cx.received.map((m) => m.kind)}`);
    expect(cx.delivered()).toHaveLength(0); // no echo
    const positions = topics.map((t) => cy.position(t)!);
    for (const t of topics) for (let i = 5; i < 8; i++) cx.publish(t, text(`${t}:${i}`));
    await waitFor(() => cx.acked() === topics.length * 8, LONG, 'acks');
    const again = await connect(x!.url);
    for (const [k, t] of topics.entries()) {
      expect(await again.subscribe(t, positions[k])).toBe(true);
      await waitFor(() => again.delivered(t).length === 3, LONG, 'the frames after the position');
      expect(again.delivered(t).map((f) => Buffer.from(f).toString())).toEqual([5, 6, 7].map((i) => `${t}:${i}`));
    }
    await Promise.all([cx.close(), cy.close(), again.close()]);
  });

  it('descriptors: the whole table in one slot; a PUT through one table is read through another', async () => {
    const limits = { maxEntries: 2, maxTtlMs: 60_000, maxBytes: 4096 };
    const [t1, t2] = [0, 1].map(() => new RedisDescriptorTable({ url: cluster.urls[0]!, cluster: true, keyPrefix: 'dc:', ...limits }));
    onTestFinished(() => Promise.all([t1!.close(), t2!.close()]).then(() => undefined));
    await Promise.all([t1!.start(), t2!.start()]);
    const ids = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBA', 'CCCCCCCCCCCCCCCCCCCCCA'];
    const value = text('descriptor');
    expect(await t1!.put(ids[0]!, value, proof(writer(0), ids[0]!, value, 60_000, 1), 60_000)).toBe('stored');
    expect(await t2!.put(ids[1]!, value, proof(writer(0), ids[1]!, value, 60_000, 1), 60_000)).toBe('stored');
    expect(await t1!.put(ids[2]!, value, proof(writer(0), ids[2]!, value, 60_000, 1), 60_000)).toBe('full');
    expect(await t2!.get(ids[0]!)).toEqual(value);
    const slots = new Set(await Promise.all(['dc:{d}', ...ids.map((id) => `dc:{d}:${id}`)].map((k) => cluster.keySlot(k))));
    expect(slots.size).toBe(1);
  });
});

/** history() once the shard serves again (commands may fail while the cluster settles). */
async function waitForHistory(engine: Engine, topic: string, since: { epoch: Uint8Array; offset: { ms: number; seq: number } }) {
  const deadline = Date.now() + LONG;
  for (;;) {
    try {
      return await engine.history(topic, since);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
