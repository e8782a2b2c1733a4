/**
 * What bench/relay.ts and bench/scaling.ts share: a relay with the bench's settings, a redis-server on a free
 * port (its CPU time from /proc, INFO) or a Redis Cluster (the same readings over its nodes), the relay's `ws`
 * clients (open, subscribe, close, the closed-loop fan-out of bench/relay.ts's cases), and a forked child
 * process spoken to over IPC.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Op, POSITION_BYTES, SUBPROTOCOL, createRelay, encodePublish, encodeSubscribe, type Relay } from '../packages/relay/src/index.js';

// `ws` and ioredis are dependencies of the relay package, not of the repository root.
const require = createRequire(new URL('../packages/relay/package.json', import.meta.url));
export const { WebSocket, WebSocketServer } = require('ws') as typeof import('ws');
export const { Redis } = require('ioredis') as typeof import('ioredis');

/** The closed-loop fan-out of the client process: `rooms` x `perRoom` clients, member 0 of each room publishes. */
export interface FanoutCmd {
  cmd: 'fanout';
  url: string;
  rooms: number;
  perRoom: number;
  /** Frames each publisher keeps in flight (counted at member 1 of its room). */
  window: number;
  frameBytes: number;
  warmMs: number;
  measureMs: number;
}

export interface Server {
  url: string;
  close(): Promise<void>;
}

/** A relay with the bench's settings; on the Redis engine with `redis` (one server, or a Redis Cluster's node). */
export async function startRelayServer(redis?: { url: string; cluster?: boolean }): Promise<Server & { relay: Relay }> {
  const relay = createRelay({
    host: '127.0.0.1',
    port: 0,
    maxConnections: 20_000,
    maxConnectionsPerIp: 20_000,
    // Protections on, with limits a benchmark's honest publishers stay under.
    rateLimit: { frames: { perSecond: 1_000_000, burst: 1_000_000 }, subscriptions: { perSecond: 1_000, burst: 1_000 } },
    ...(process.env.BENCH_RELAY_RETENTION === '0' ? { retention: false as const } : {}),
    ...(redis !== undefined ? { redis: { url: redis.url, cluster: redis.cluster } } : {}),
  });
  const { port } = await relay.listen();
  return { relay, url: `ws://127.0.0.1:${port}/`, close: () => relay.close() };
}

/** Where the Redis engine's streams live in a bench: one redis-server or a Redis Cluster; CPU time read from /proc. */
export interface RedisBackend {
  /** redis:// (a Redis Cluster: one of its nodes). */
  url: string;
  port: number;
  /** A Redis Cluster: CPU and commandstats are summed over its nodes. */
  cluster: boolean;
  /** INFO commandstats: calls and usec per command (lower case, e.g. 'evalsha', 'xadd'). */
  commandstats(): Promise<CommandStats>;
  /** CPU milliseconds redis-server has used so far (user + system, every thread), or NaN without /proc. */
  cpuMs(): number;
  /** Drops every key (between cases, so that each starts from empty streams). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server (no persistence) on a free 127.0.0.1 port, for the Redis engine. */
export interface RedisServer extends RedisBackend {
  /** INFO <section> as field -> value (e.g. 'memory': used_memory). */
  info(section: string): Promise<Map<string, string>>;
  /** A connection for other commands. */
  admin: import('ioredis').Redis;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
    await sleep(50);
  }
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  return {
    url,
    port,
    cluster: false,
    commandstats: async () => {
      const stats = new Map<string, { calls: number; usec: number }>();
      for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
      return stats;
    },
    cpuMs: () => procCpuMs(child.pid),
    info: async (section) => new Map([...(await admin.info(section)).matchAll(/^(\w+):(.*?)\r?$/gm)].map((m) => [m[1]!, m[2]!])),
    flush: async () => void (await admin.flushall()),
    admin,
    stop: async () => {
      admin.disconnect();
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 3_000);
      await exited;
      clearTimeout(timer);
      process.off('exit', kill);
    },
  };
}

/**
 * A Redis Cluster of 3 primaries with a replica each (startRedisCluster, the test harness), as a RedisBackend:
 * CPU summed over all six redis-server processes (replicas apply every write too), commandstats over the primaries.
 */
export async function startClusterServer(): Promise<RedisBackend> {
  // Imported here: the client and relay child processes of the bench scripts run without --conditions=source.
  const { startRedisCluster } = await import('../packages/transport-conformance/src/redis-cluster.js');
  const cluster = await startRedisCluster();
  const nodes = await cluster.nodes();
  const admins = new Map(nodes.map((n) => [n.port, new Redis(n.port, '127.0.0.1', { maxRetriesPerRequest: 1 })]));
  for (const a of admins.values()) a.on('error', () => {});
  const pids = await Promise.all([...admins.values()].map(async (a) => Number(/process_id:(\d+)/.exec(await a.info('server'))?.[1])));
  const primaries = nodes.filter((n) => n.role === 'primary').map((n) => admins.get(n.port)!);
  return {
    url: cluster.urls[0]!,
    port: nodes[0]!.port,
    cluster: true,
    commandstats: async () => {
      const stats: CommandStats = new Map();
      for (const a of primaries) {
        for (const m of (await a.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
          const x = stats.get(m[1]!) ?? { calls: 0, usec: 0 };
          stats.set(m[1]!, { calls: x.calls + Number(m[2]), usec: x.usec + Number(m[3]) });
        }
      }
      return stats;
    },
    cpuMs: () => pids.reduce((sum, pid) => sum + procCpuMs(pid), 0),
    flush: async () => void (await Promise.all(primaries.map((a) => a.flushall()))),
    stop: async () => {
      for (const a of admins.values()) a.disconnect();
      await cluster.stop();
    },
  };
}

export async function openClients(url: string, count: number, onMessage: (i: number, data: Buffer) => void): Promise<import('ws').WebSocket[]> {
  const sockets: import('ws').WebSocket[] = [];
  const BATCH = 250;
  for (let start = 0; start < count; start += BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const ws = new WebSocket(url, [SUBPROTOCOL], { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      sockets[i] = ws;
      ws.on('message', (d: Buffer) => onMessage(i, d));
      ws.on('error', () => {});
      batch.push(
        new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('close', (code) => reject(new Error(`client ${i} closed ${code}`)));
        }),
      );
    }
    await Promise.all(batch);
  }
  return sockets;
}

export async function subscribeAll(sockets: import('ws').WebSocket[], topicOf: (i: number) => string, acked: () => number, timeoutMs = 30_000): Promise<void> {
  sockets.forEach((ws, i) => ws.send(encodeSubscribe(topicOf(i))));
  const deadline = Date.now() + timeoutMs;
  while (acked() < sockets.length) {
    if (Date.now() > deadline) throw new Error('subscriptions not acknowledged');
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function closeAll(sockets: import('ws').WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.terminate();
        }),
    ),
  );
}

/**
 * The position of a DELIVER (PROTOCOL-RELAY.md §3.2: [0x10][len][topic][epoch 8][offset 16][frame]), read as
 * a resuming client reads it: the low halves of the offset's ms and seq (what a client stores is the 24
 * bytes; reading two words is the per-message work that stands for it here). Returns where the frame starts.
 */
export function readDeliver(d: Buffer, positions: Float64Array, i: number): number {
  const at = 2 + d[1]!;
  positions[i] = d.readUInt32BE(at + 12) * 2 ** 32 + d.readUInt32BE(at + 20);
  return at + POSITION_BYTES;
}

export async function fanoutClients(m: FanoutCmd): Promise<{ deliveries: number; ms: number }> {
  const n = m.rooms * m.perRoom;
  const room = (i: number) => Math.floor(i / m.perRoom);
  const topic = (r: number) => `room-${r}`;
  const frame = new Uint8Array(m.frameBytes).fill(7);
  const sent = new Array<number>(m.rooms).fill(0);
  const seenByProbe = new Array<number>(m.rooms).fill(0); // member 1 of each room paces its publisher
  const positions = new Float64Array(n);
  let acked = 0;
  let deliveries = 0;
  let running = false;
  let sockets: import('ws').WebSocket[] = [];
  const messages = new Map<number, Buffer>();
  const top = (r: number) => {
    while (running && sent[r]! - seenByProbe[r]! < m.window) {
      sockets[r * m.perRoom]!.send(messages.get(r)!);
      sent[r]!++;
    }
  };
  sockets = await openClients(m.url, n, (i, d) => {
    const op = d[0];
    if (op === Op.deliver) {
      readDeliver(d, positions, i);
      deliveries++;
      if (i % m.perRoom === 1) {
        const r = room(i);
        seenByProbe[r]!++;
        top(r);
      }
    } else if (op === Op.subscribed) acked++;
    // ACK (the relay's cumulative acknowledgements of the publishers' PUBLISHes): read and ignored.
  });
  for (let r = 0; r < m.rooms; r++) messages.set(r, encodePublish(topic(r), frame));
  await subscribeAll(sockets, (i) => topic(room(i)), () => acked);
  running = true;
  for (let r = 0; r < m.rooms; r++) top(r);
  await sleep(m.warmMs);
  // The parent reads the server's CPU time at these two marks.
  process.send!({ mark: 'start' });
  const d0 = deliveries;
  const t0 = performance.now();
  await sleep(m.measureMs);
  const result = { deliveries: deliveries - d0, ms: performance.now() - t0 };
  process.send!({ mark: 'end' });
  running = false;
  await sleep(200);
  await closeAll(sockets);
  return result;
}

export type CommandStats = Map<string, { calls: number; usec: number }>;

export function commandsDelta(before: CommandStats, after: CommandStats): CommandStats {
  const d: CommandStats = new Map();
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) d.set(name, { calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return d;
}


/**
 * Milliseconds of CPU (user + system, every thread) process `pid` has used, or NaN: the sum of its threads'
 * run time in /proc/<pid>/task/<tid>/schedstat (nanoseconds; at 1 room x 100 redis-server uses about 40 ms
 * of CPU per window, which /proc/<pid>/stat counts in 10 ms ticks), else /proc/<pid>/stat.
 */
export function procCpuMs(pid: number | undefined): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // no schedstat (a kernel without CONFIG_SCHEDSTATS): ticks below
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime (fields 14 and 15), USER_HZ = 100
  } catch {
    return NaN;
  }
}

/** global.gc without starting node with --expose-gc (for a child forked with tsx). */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * A child process forked from a bench script with a flag (`--clients`, `--relay`), spoken to one request at a
 * time over IPC: its first message is its hello (e.g. its URL); `{ mark }` messages go to onMark; any reply
 * with an `error` field rejects.
 */
export class Child {
  private waiting: ((m: any) => void) | undefined;
  /** Called on the child's `{ mark }` messages (the clients' measuring window). */
  onMark: ((mark: 'start' | 'end') => void) | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly hello: any,
  ) {
    child.on('message', (m: any) => {
      if (typeof m?.mark === 'string') return this.onMark?.(m.mark);
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }
  get pid(): number | undefined {
    return this.child.pid;
  }
  static async start(script: string, args: string[]): Promise<Child> {
    const child = fork(script, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const hello = await new Promise<any>((resolve) => child.once('message', resolve));
    return new Child(child, hello);
  }
  async ask<T>(cmd: object): Promise<T> {
    const reply = new Promise<any>((resolve) => (this.waiting = resolve));
    this.child.send(cmd);
    const r = await reply;
    if (r?.error !== undefined) throw new Error(`child process: ${r.error}`);
    return r as T;
  }
  /** Sends `{ cmd: 'exit' }` and waits for the exit (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** What a relay child process reports (after full GCs when asked): its counters, memory and CPU time. */
export interface RelaySample {
  connections: number;
  /** Topics with a local subscriber. */
  topics: number;
  framesIn: number;
  framesOut: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** process.cpuUsage(), user + system, ms. */
  cpuMs: number;
}

/**
 * The relay child process (`--relay [redis url]`): startRelayServer() alone in a fresh process, so that neither
 * clients nor earlier cases are counted in its memory or CPU time. Its hello is `{ url }`; it answers
 * `{ cmd: 'sample', gc }` with a RelaySample (gc: three full collections first, 300 ms after the last request)
 * and exits on `{ cmd: 'exit' }`.
 */
export async function relayChildMain(redisUrl?: string): Promise<void> {
  const gc = exposeGc();
  const server = await startRelayServer(redisUrl === undefined ? undefined : { url: redisUrl });
  process.on('message', async (m: { cmd: 'sample'; gc: boolean } | { cmd: 'exit' }) => {
    if (m.cmd === 'sample') {
      if (m.gc) {
        await sleep(300); // let the last upgrades' garbage become collectable
        for (let i = 0; i < 3; i++) gc();
      }
      const u = process.memoryUsage();
      const c = process.cpuUsage();
      const x = server.relay.metrics();
      const r: RelaySample = { connections: x.connections, topics: x.topics, framesIn: x.framesIn, framesOut: x.framesOut, rss: u.rss, heapUsed: u.heapUsed, external: u.external, cpuMs: (c.user + c.system) / 1000 };
      process.send!(r);
    } else {
      await server.close();
      process.exit(0);
    }
  });
  process.send!({ url: server.url });
}
