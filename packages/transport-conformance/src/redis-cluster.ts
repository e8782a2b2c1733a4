/**
 * A real Redis Cluster for tests: redis-server processes with cluster-enabled on free ports, joined by
 * `redis-cli --cluster create` (three primaries and one replica each by default), plus what fault tests do
 * to it: kill a node (its replica is promoted), and move a slot from one primary to another while clients
 * keep writing (the manual resharding of the Redis Cluster specification: IMPORTING, MIGRATING, MIGRATE of
 * the slot's keys, then SETSLOT NODE on every primary).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './helpers.js';
import { spawnService, type Service } from './services.js';

const run = promisify(execFile);

/** Options of startRedisCluster(). */
export interface RedisClusterOptions {
  /** Primaries (default 3; Redis needs at least 3). */
  primaries?: number;
  /** Replicas of each primary (default 1). */
  replicas?: number;
  /** cluster-node-timeout in ms (default 1,000: a killed primary's replica takes over in about 2 to 3 s). */
  nodeTimeoutMs?: number;
  /** Persist each node to an append-only file, fsync every write (default false). */
  appendonly?: boolean;
}

/** One node of the cluster, as CLUSTER NODES describes it now. */
export interface RedisClusterNode {
  id: string;
  port: number;
  role: 'primary' | 'replica';
  /** The primary's id, for a replica. */
  primaryId?: string;
  /** Slot ranges served, for a primary: [first, last] inclusive. */
  slots: [number, number][];
  /** Marked failed by the cluster (killed). */
  failed: boolean;
}

export interface RedisCluster {
  /** redis:// URLs of the nodes started (seeds for a cluster client). */
  urls: string[];
  /** Every node's current role and slots, read from a live node. */
  nodes(): Promise<RedisClusterNode[]>;
  /** The slot of a key (CLUSTER KEYSLOT, hash tags included). */
  keySlot(key: string): Promise<number>;
  /** The port of the primary serving the slot now. */
  primaryOf(slot: number): Promise<number>;
  /** Kills the node on the port (default SIGKILL); a killed primary's replica is promoted after the node timeout. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once every slot is served by a live primary and every live node says cluster_state:ok. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Moves one slot to the primary on `toPort`, keys and all. `between` runs after the slot is marked
   * migrating and before its keys move, and again before the slot is handed over: the window in which
   * clients see ASK redirections.
   */
  moveSlot(slot: number, toPort: number, between?: () => Promise<void>): Promise<void>;
  /** Runs one redis-cli command against the node on the port; returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops every node and deletes their files. */
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 with its cluster bus port (port + 10,000) free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
}

/** Parses CLUSTER NODES. */
function parseNodes(text: string): RedisClusterNode[] {
  const nodes: RedisClusterNode[] = [];
  for (const line of text.trim().split('\n')) {
    const [id, address, flags, primaryId, , , , , ...slotFields] = line.trim().split(' ');
    if (id === undefined || address === undefined || flags === undefined) continue;
    const port = Number(address.split('@')[0]!.split(':')[1]);
    const slots: [number, number][] = [];
    for (const f of slotFields) {
      if (f.startsWith('[')) continue; // a slot being imported or migrated
      const [a, b] = f.split('-').map(Number) as [number, number | undefined];
      slots.push([a, b ?? a]);
    }
    const role = flags.includes('master') ? 'primary' : 'replica';
    nodes.push({ id, port, role, ...(role === 'replica' && primaryId !== '-' ? { primaryId } : {}), slots, failed: flags.includes('fail') && !flags.includes('fail?') });
  }
  return nodes;
}

/** Starts a Redis Cluster of real redis-server processes and waits until it serves every slot. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'sealsig-redis-cluster-'));
  const taken = new Set<number>();
  const services = new Map<number, Service & { kill(signal: NodeJS.Signals): Promise<void> }>();
  const stop = async (): Promise<void> => {
    await Promise.all([...services.values()].map((s) => s.stop()));
    services.clear();
    rmSync(dir, { recursive: true, force: true });
  };
  const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(port), ...args], { timeout: 30_000 })).stdout;
  try {
    const ports: number[] = [];
    for (let i = 0; i < primaries * (1 + replicas); i++) ports.push(await freeClusterPort(taken));
    await Promise.all(
      ports.map(async (port) => {
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--cluster-enabled', 'yes'];
        args.push('--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1_000));
        // A replica's first sync starts at once (the default waits 5 s for more replicas); a replica that
        // never synced cannot be promoted.
        args.push('--repl-diskless-sync-delay', '0');
        args.push('--appendonly', options.appendonly === true ? 'yes' : 'no', '--appendfilename', `appendonly-${port}.aof`, '--appenddirname', `aof-${port}`);
        if (options.appendonly === true) args.push('--appendfsync', 'always');
        services.set(port, await spawnService('redis-server', args, port));
      }),
    );
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
  } catch (e) {
    await stop();
    throw e;
  }

  const live = () => [...services.keys()];
  const nodes = async (): Promise<RedisClusterNode[]> => {
    let last: unknown;
    for (const port of live()) {
      try {
        return parseNodes(await cli(port, 'cluster', 'nodes'));
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`no live node answers CLUSTER NODES: ${String(last)}`);
  };
  const primaryOf = async (slot: number): Promise<number> => {
    const owner = (await nodes()).find((n) => n.role === 'primary' && !n.failed && n.slots.some(([a, b]) => a <= slot && slot <= b));
    if (owner === undefined) throw new Error(`no primary serves slot ${slot}`);
    return owner.port;
  };
  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(live().map((p) => cli(p, 'cluster', 'info').catch(() => '')));
      // A killed node is marked failed only after the node timeout: until then the others still say ok.
      const owners = (await nodes().catch(() => [])).filter((n) => n.role === 'primary' && n.slots.length > 0);
      const served = owners.length > 0 && owners.every((n) => services.has(n.port) && !n.failed);
      const ok = served && states.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_slots_ok:16384'));
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the cluster is not healthy after ${timeoutMs} ms:\n${states.join('\n')}`);
      await sleep(100);
    }
  };
  const cluster: RedisCluster = {
    urls: live().map((p) => `redis://127.0.0.1:${p}`),
    nodes,
    keySlot: async (key) => Number((await cli(live()[0]!, 'cluster', 'keyslot', key)).trim()),
    primaryOf,
    kill: async (port, signal = 'SIGKILL') => {
      const service = services.get(port);
      if (service === undefined) throw new Error(`no node of this cluster runs on ${port}`);
      await service.kill(signal);
      services.delete(port);
    },
    waitHealthy,
    moveSlot: async (slot, toPort, between) => {
      const all = await nodes();
      const fromPort = await primaryOf(slot);
      const from = all.find((n) => n.port === fromPort)!;
      const to = all.find((n) => n.port === toPort);
      if (to === undefined || to.role !== 'primary') throw new Error(`${toPort} is not a primary`);
      if (from.port === to.port) return;
      await cli(to.port, 'cluster', 'setslot', String(slot), 'importing', from.id);
      await cli(from.port, 'cluster', 'setslot', String(slot), 'migrating', to.id);
      await between?.();
      for (;;) {
        const keys = (await cli(from.port, 'cluster', 'getkeysinslot', String(slot), '100')).split('\n').filter((k) => k !== '');
        if (keys.length === 0) break;
        await cli(from.port, 'migrate', '127.0.0.1', String(to.port), '', '0', '10000', 'replace', 'keys', ...keys);
      }
      await between?.();
      // SETSLOT NODE: the destination first, then the source, then the other primaries (Redis Cluster spec).
      await cli(to.port, 'cluster', 'setslot', String(slot), 'node', to.id);
      await cli(from.port, 'cluster', 'setslot', String(slot), 'node', to.id);
      for (const n of all) if (n.role === 'primary' && !n.failed && n.port !== from.port && n.port !== to.port) await cli(n.port, 'cluster', 'setslot', String(slot), 'node', to.id).catch(() => '');
    },
    cli,
    stop,
  };
  try {
    await waitHealthy();
    // Every node also knows every replica's primary (learned by gossip, after the slots), and every replica
    // has finished its first sync.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const views = await Promise.all(live().map(async (p) => parseNodes(await cli(p, 'cluster', 'nodes'))));
      const known = views.every((v) => v.filter((n) => n.role === 'replica' && n.primaryId !== undefined).length === primaries * replicas);
      const replicaPorts = views[0]!.filter((n) => n.role === 'replica').map((n) => n.port);
      const synced = (await Promise.all(replicaPorts.map((p) => cli(p, 'info', 'replication')))).every((i) => i.includes('master_link_status:up'));
      if (known && synced) break;
      if (Date.now() > deadline) throw new Error('the replicas are not known to every node, or not in sync, after 30,000 ms');
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return cluster;
}
