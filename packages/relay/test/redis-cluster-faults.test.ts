/**
 * Faults on a real Redis Cluster while frames flow (startRedisCluster: 3 primaries with a replica each),
 * counted at the relay protocol (protocol-clients.ts: offsets, duplicates and gaps are visible there):
 * 1. the primary of the topic's slot killed (SIGKILL) while publishing, its replica promoted: no acknowledged
 *    frame missing at a subscriber without a gap signal to it (replication is asynchronous: the shard's
 *    streams get a new epoch, PROTOCOL-RELAY.md §6);
 * 2. the topic's slot moved to another primary while publishing (MIGRATING/IMPORTING, ASK, SETSLOT): no
 *    acknowledged frame missing, no offset delivered twice on one subscription, no gap;
 * 3. a relay node (the CLI, a real process) killed (SIGKILL): nothing missing, no offset twice.
 * Nothing is timed: every wait is for a condition. Each case logs one `cluster-faults:` JSON line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '@sealsig/transport-conformance';
import { keySlot } from '../src/redis-shard-subscriber.js';
import { startRelay, waitFor } from './helpers.js';
import { Publisher, Subscriber } from './protocol-clients.js';

const LONG = 60_000;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

async function cluster(): Promise<RedisCluster> {
  const c = await startRedisCluster();
  cleanups.push(() => c.stop());
  return c;
}

async function relays(c: RedisCluster, n: number): Promise<string[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startRelay({ redis: { url: c.urls[0]!, cluster: true } })));
  cleanups.push(() => Promise.all(started.map((s) => s.relay.close())));
  await Promise.all(started.map((s) => waitFor(() => s.relay.metrics().engineAvailable === 1, LONG, 'engine available')));
  return started.map((s) => s.url);
}

/** Publishers and subscribers on `urls` (each starting on another node), once every subscriber is live. */
async function traffic(urls: string[], topic: string, publishers: number, subscribers: number) {
  const subs = Array.from({ length: subscribers }, (_, i) => new Subscriber(urls, i, topic));
  cleanups.push(() => subs.forEach((s) => s.close()));
  await waitFor(() => subs.every((s) => s.live), LONG, 'subscribers live');
  const pubs = Array.from({ length: publishers }, (_, i) => new Publisher(urls, i, topic, `p${i}`));
  cleanups.push(() => pubs.forEach((p) => p.close()));
  const accepted = () => pubs.reduce((n, p) => n + p.accepted.size, 0);
  return {
    subs,
    pubs,
    accepted,
    /** Waits until `n` more frames are accepted. */
    async more(n: number): Promise<void> {
      const target = accepted() + n;
      await waitFor(() => accepted() >= target, LONG, `${n} more frames accepted`);
    },
    /** Stops publishing, waits until every frame is settled and every subscriber has every accepted one, counts. */
    async stop() {
      pubs.forEach((p) => p.stopPublishing());
      await waitFor(() => pubs.every((p) => p.outstanding === 0), LONG, 'every frame acknowledged');
      const keys = pubs.flatMap((p) => [...p.accepted]);
      const missing = (s: Subscriber) => keys.filter((k) => !s.received.has(k)).length;
      // Every subscriber has every accepted frame, or has heard of a gap (then it may never get them).
      await waitFor(() => subs.every((s) => missing(s) === 0 || s.gaps > 0), LONG, 'subscribers complete').catch(() => undefined);
      return {
        accepted: keys.length,
        nacks: pubs.reduce((n, p) => n + p.nacks, 0),
        missing: subs.map(missing),
        gaps: subs.map((s) => s.gaps),
        duplicateOffsets: subs.map((s) => s.duplicateOffsets),
        duplicateFrames: subs.map((s) => [...s.received.values()].reduce((n, c) => n + c - 1, 0)),
      };
    },
  };
}

function report(name: string, counts: object): void {
  console.log(`cluster-faults: ${JSON.stringify({ case: name, ...counts })}`);
}

describe('faults on a Redis Cluster (real processes)', () => {
  it('1: the primary of the topic killed (SIGKILL) while publishing: nothing acknowledged is missing without a gap signal', async () => {
    const c = await cluster();
    const urls = await relays(c, 2);
    const topic = 'kill-primary';
    const t = await traffic(urls, topic, 2, 4);
    await t.more(200);
    const primary = await c.primaryOf(keySlot(`sealsig:s:{${topic}}`));
    await c.kill(primary);
    await c.waitHealthy(LONG);
    expect(await c.primaryOf(keySlot(`sealsig:s:{${topic}}`))).not.toBe(primary);
    await t.more(200); // publishing goes on, on the promoted replica
    const counts = await t.stop();
    report('1 primary SIGKILL', counts);
    counts.missing.forEach((missing, i) => {
      if (missing > 0) expect(counts.gaps[i]).toBeGreaterThan(0);
    });
    // The failover gave the stream a new epoch: every subscriber was told (a DELIVER of the new epoch).
    expect(counts.gaps.every((g) => g > 0)).toBe(true);
  }, 180_000);

  it('2: the topic\'s slot moved to another primary while publishing: nothing missing, no offset twice, no gap', async () => {
    const c = await cluster();
    const urls = await relays(c, 2);
    const topic = 'reshard';
    const t = await traffic(urls, topic, 2, 4);
    await t.more(100);
    const slot = keySlot(`sealsig:s:{${topic}}`);
    const from = await c.primaryOf(slot);
    const to = (await c.nodes()).find((n) => n.role === 'primary' && n.port !== from)!.port;
    // Frames flow in both windows: slot migrating with its keys on the source, then on the target (ASK).
    await c.moveSlot(slot, to, () => t.more(50));
    expect(await c.primaryOf(slot)).toBe(to);
    await t.more(200);
    const counts = await t.stop();
    report('2 reshard', counts);
    expect(counts.missing).toEqual([0, 0, 0, 0]);
    expect(counts.duplicateOffsets).toEqual([0, 0, 0, 0]);
    expect(counts.gaps).toEqual([0, 0, 0, 0]);
  }, 180_000);

  it('3: a relay node (a real process) killed (SIGKILL) while publishing: nothing missing, no offset twice', async () => {
    const c = await cluster();
    const nodes = await Promise.all([0, 1, 2].map(() => spawnRelay(['--redis', c.urls.slice(0, 2).join(',')])));
    cleanups.push(() => nodes.forEach((n) => n.child.kill('SIGKILL')));
    const urls = nodes.map((n) => n.url);
    const t = await traffic(urls, 'kill-relay', 2, 4);
    await t.more(200);
    nodes[0]!.child.kill('SIGKILL'); // publisher 0 and subscribers 0 and 3 are on it
    await t.more(300);
    const counts = await t.stop();
    report('3 relay node SIGKILL', counts);
    expect(t.subs[0]!.closes.length).toBeGreaterThan(0);
    expect(counts.missing).toEqual([0, 0, 0, 0]);
    expect(counts.duplicateOffsets).toEqual([0, 0, 0, 0]);
    expect(counts.gaps).toEqual([0, 0, 0, 0]);
  }, 180_000);
});

const PKG = fileURLToPath(new URL('..', import.meta.url));

/** The sealsig-relay CLI as a real process on a free port; resolves once it is listening and its engine is up. */
async function spawnRelay(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0', ...args], { cwd: PKG, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-65_536)));
  await waitFor(() => err.includes('"event":"listening"') || child.exitCode !== null, LONG, 'relay listening');
  const line = err.split('\n').find((l) => l.includes('"event":"listening"'));
  if (line === undefined) throw new Error(`relay did not start: ${err}`);
  const { port } = JSON.parse(line) as { port: number };
  await waitFor(() => err.includes('redis engine available'), LONG, 'relay engine available');
  return { child, url: `ws://127.0.0.1:${port}/` };
}
