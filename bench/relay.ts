/**
 * `pnpm bench` (after bench/run.ts): the @sealsig/relay benchmarks. Merges its rows into
 * bench/results/latest.json (replacing earlier relay rows, keeping everyone else's).
 *
 * The relay (or the bare `ws` baseline) runs in this process; the clients run in one forked child process
 * (this same file with `--clients`), so client work does not share the server's event loop. Both processes
 * talk over 127.0.0.1 only. Everything is bounded in count and time (about 40 s in all).
 *
 * The clients speak relay protocol v2 (PROTOCOL-RELAY.md, subprotocol 'sealsig-relay.2'): SUBSCRIBE without a
 * position, PUBLISH (the relay numbers them per connection and acknowledges them cumulatively with ACK, which
 * the clients read and ignore), DELIVER with the stream position (epoch, offset), which every client reads as
 * a resuming client would. The bare `ws` baseline answers in the same format (a counter for the offset).
 *
 * Cases:
 *   - fan-out deliveries/s: 1 room x 100 clients, and 1 000 rooms x 2 clients; one publisher per room keeps a
 *     small window of frames in flight (closed loop); relay with every protection on (rate limits, retention
 *     (streams), heartbeat, backpressure checks, connection limits) on the memory engine and on the Redis engine
 *     (Redis Streams, against a redis-server this script starts on a free port and stops), against a bare `ws`
 *     broadcast loop, same clients. Each is measured by wall clock and per relay CPU-second (deliveries divided
 *     by the relay process's CPU time during the measuring window: on 2 cores the client process is the
 *     bottleneck, so wall-clock ratios mostly measure it); for Redis also per relay + redis-server CPU-second.
 *     BENCH_RELAY_ROUNDS interleaved rounds (bare, memory, Redis back to back), medians;
 *   - latency at a fixed 20 000 deliveries/s (20 rooms x 11: 2 000 frames/s in), p50 and p99, relay and bare `ws`;
 *   - memory per idle connection with 10 000 connections (5 000 rooms x 2, each subscribed): this relay runs
 *     alone in a second child process (this file with `--relay`), fresh, so neither the clients' sockets nor
 *     the earlier cases' heap and RSS high-water mark are counted; it reports process.memoryUsage() over IPC.
 *
 * Environment: BENCH_RELAY_MS (measure window per fan-out case, default 2000), BENCH_RELAY_ROUNDS (fan-out
 * rounds, default 3), BENCH_RELAY_IDLE (idle connection count, default 10000; each process needs that many file
 * descriptors, so lower it when `ulimit -n` is below about 10 100), BENCH_RELAY_REDIS (0: skip the Redis
 * engine), BENCH_RELAY_FANOUT (regex: the fan-out cases to run, for profiling), BENCH_RELAY_ONLY (fanout, latency, redis-latency or memory: run one part, merge nothing),
 * BENCH_RELAY_XADD (0: skip the redis-benchmark XADD yardstick), BENCH_RELAY_CLUSTER (1: the Redis engine rows on a
 * Redis Cluster of 3 primaries with a replica each too, beside the single redis-server, same rounds), BENCH_RELAY_PROFILE (a directory: write a V8 CPU profile of the relay
 * over each fan-out window of the memory and Redis engines there).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Op, POSITION_BYTES, SUBPROTOCOL, createRelay, encodePublish, encodeSubscribe, type Relay } from '../packages/relay/src/index.js';
import { median, round, type Row } from './harness.js';
import { LATEST, mergeRows } from './results-file.js';
import { printChecks, relayTargets } from './targets.js';

// `ws` is a dependency of the relay package, not of the repository root.
const require = createRequire(new URL('../packages/relay/package.json', import.meta.url));
const { WebSocket, WebSocketServer } = require('ws') as typeof import('ws');
const { Redis } = require('ioredis') as typeof import('ioredis');

const FRAME_BYTES = 400; // about one padded sealsig frame (256-byte bucket + header)
const MEASURE_MS = Number(process.env.BENCH_RELAY_MS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 3);
const WITH_REDIS = process.env.BENCH_RELAY_REDIS !== '0';
/** BENCH_RELAY_CLUSTER=1: the Redis engine rows on a Redis Cluster too (3 primaries, 1 replica each). */
const WITH_CLUSTER = WITH_REDIS && process.env.BENCH_RELAY_CLUSTER === '1';
const WARM_MS = 1_000;
const IDLE_COUNT = Number(process.env.BENCH_RELAY_IDLE ?? 10_000);
const LAT_RATE = 20_000;
const LAT_MS = 3_000;
/** 20 rooms of 11: 2 000 frames/s in, 20 000 deliveries/s out (the client process stays far from saturation). */
const LAT_ROOMS = 20;
const LAT_PER_ROOM = 11;


// ---------------------------------------------------------------------------------------------------------
// Servers

interface Server {
  url: string;
  close(): Promise<void>;
}

async function startRelayServer(redis?: RedisServer): Promise<Server & { relay: Relay }> {
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

/**
 * The baseline: a bare `ws` server doing the same routing with no limit, check, metric, retention or
 * acknowledgement. It answers in protocol v2's format (SUBSCRIBED, DELIVER with a position: a zero epoch and a
 * counter for the offset) so that the clients do the same work against it as against the relay.
 */
async function startBareServer(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const rooms = new Map<string, Set<import('ws').WebSocket>>();
  let counter = 0;
  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.on('message', (data: Buffer) => {
      if (data[0] === Op.subscribe) {
        const end = 2 + data[1]!;
        const topic = data.subarray(2, end).toString('latin1');
        let room = rooms.get(topic);
        if (room === undefined) rooms.set(topic, (room = new Set()));
        room.add(ws);
        mine.add(topic);
        const out = Buffer.alloc(end + POSITION_BYTES + 1);
        data.copy(out, 0, 0, end);
        out[0] = Op.subscribed;
        ws.send(out);
      } else if (data[0] === Op.publish) {
        const end = 2 + data[1]!;
        const topic = data.subarray(2, end).toString('latin1');
        const out = Buffer.allocUnsafe(data.length + POSITION_BYTES);
        data.copy(out, 0, 0, end);
        out[0] = Op.deliver;
        out.fill(0, end, end + POSITION_BYTES - 4);
        out.writeUInt32BE(++counter >>> 0, end + POSITION_BYTES - 4);
        data.copy(out, end + POSITION_BYTES, end);
        for (const peer of rooms.get(topic) ?? []) if (peer !== ws) peer.send(out);
      }
    });
    ws.on('close', () => {
      for (const t of mine) rooms.get(t)?.delete(ws);
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

/** A redis-server (no persistence) on a free 127.0.0.1 port, for the Redis engine; its CPU time is read from /proc. */
interface RedisServer {
  url: string;
  port: number;
  /** A Redis Cluster: url is one of its nodes; CPU and commandstats are summed over every node. */
  cluster: boolean;
  /** INFO commandstats: calls and usec per command (lower case, e.g. 'evalsha', 'xadd'). */
  commandstats(): Promise<Map<string, { calls: number; usec: number }>>;
  /** CPU milliseconds redis-server has used so far (user + system, every thread), or NaN without /proc. */
  cpuMs(): number;
  /** Drops every key (between cases, so that each starts from empty streams). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

async function startRedisServer(): Promise<RedisServer> {
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
  const tick = 100; // USER_HZ: /proc/<pid>/stat counts clock ticks of 10 ms on Linux
  return {
    url,
    port,
    cluster: false,
    commandstats: async () => {
      const stats = new Map<string, { calls: number; usec: number }>();
      for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
      return stats;
    },
    cpuMs: () => {
      try {
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / tick; // utime, stime (fields 14 and 15)
      } catch {
        return NaN;
      }
    },
    flush: async () => void (await admin.flushall()),
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

/** CPU milliseconds a process has used so far (user + system), from /proc, or NaN. */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

/**
 * A Redis Cluster of 3 primaries with a replica each (startRedisCluster, the test harness), as a RedisServer:
 * CPU summed over all six redis-server processes (replicas apply every write too), commandstats over the primaries.
 */
async function startClusterServer(): Promise<RedisServer> {
  // Imported here: the client and relay child processes of this script run without --conditions=source.
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
      const stats = new Map<string, { calls: number; usec: number }>();
      for (const a of primaries) {
        for (const m of (await a.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
          const x = stats.get(m[1]!) ?? { calls: 0, usec: 0 };
          stats.set(m[1]!, { calls: x.calls + Number(m[2]), usec: x.usec + Number(m[3]) });
        }
      }
      return stats;
    },
    cpuMs: () => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
    flush: async () => void (await Promise.all(primaries.map((a) => a.flushall()))),
    stop: async () => {
      for (const a of admins.values()) a.disconnect();
      await cluster.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Client process

type Cmd =
  | { cmd: 'fanout'; url: string; rooms: number; perRoom: number; window: number }
  | { cmd: 'latency'; url: string; rooms: number; perRoom: number; rate: number }
  | { cmd: 'idle'; url: string; count: number }
  | { cmd: 'close' }
  | { cmd: 'exit' };

async function openClients(url: string, count: number, onMessage: (i: number, data: Buffer) => void): Promise<import('ws').WebSocket[]> {
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

async function subscribeAll(sockets: import('ws').WebSocket[], topicOf: (i: number) => string, acked: () => number): Promise<void> {
  sockets.forEach((ws, i) => ws.send(encodeSubscribe(topicOf(i))));
  const deadline = Date.now() + 30_000;
  while (acked() < sockets.length) {
    if (Date.now() > deadline) throw new Error('subscriptions not acknowledged');
    await sleep(5);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function closeAll(sockets: import('ws').WebSocket[]): Promise<void> {
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

async function clientMain(): Promise<void> {
  let idle: import('ws').WebSocket[] = [];
  process.on('message', async (m: Cmd) => {
    try {
      if (m.cmd === 'fanout') process.send!(await fanoutClients(m));
      else if (m.cmd === 'latency') process.send!(await latencyClients(m));
      else if (m.cmd === 'idle') {
        let acked = 0;
        idle = await openClients(m.url, m.count, (_i, d) => {
          if (d[0] === Op.subscribed) acked++;
        });
        await subscribeAll(idle, (i) => `idle-${i >> 1}`, () => acked);
        process.send!({ opened: idle.length });
      } else if (m.cmd === 'close') {
        await closeAll(idle);
        idle = [];
        process.send!({ closed: true });
      } else process.exit(0);
    } catch (e) {
      process.send!({ error: String(e) });
    }
  });
  process.send!({ ready: true });
}

/**
 * The position of a DELIVER (PROTOCOL-RELAY.md §3.2: [0x10][len][topic][epoch 8][offset 16][frame]), read as
 * a resuming client reads it: the low halves of the offset's ms and seq (what a client stores is the 24
 * bytes; reading two words is the per-message work that stands for it here). Returns where the frame starts.
 */
function readDeliver(d: Buffer, positions: Float64Array, i: number): number {
  const at = 2 + d[1]!;
  positions[i] = d.readUInt32BE(at + 12) * 2 ** 32 + d.readUInt32BE(at + 20);
  return at + POSITION_BYTES;
}

async function fanoutClients(m: Extract<Cmd, { cmd: 'fanout' }>): Promise<{ deliveries: number; ms: number }> {
  const n = m.rooms * m.perRoom;
  const room = (i: number) => Math.floor(i / m.perRoom);
  const topic = (r: number) => `room-${r}`;
  const frame = new Uint8Array(FRAME_BYTES).fill(7);
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
  await sleep(WARM_MS);
  // The parent reads the server's CPU time at these two marks.
  process.send!({ mark: 'start' });
  const d0 = deliveries;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const result = { deliveries: deliveries - d0, ms: performance.now() - t0 };
  process.send!({ mark: 'end' });
  running = false;
  await sleep(200);
  await closeAll(sockets);
  return result;
}

async function latencyClients(m: Extract<Cmd, { cmd: 'latency' }>): Promise<{ p50: number; p99: number; max: number; rate: number }> {
  const n = m.rooms * m.perRoom;
  const framesPerSecond = m.rate / (m.perRoom - 1); // each frame is delivered to perRoom - 1 clients
  let acked = 0;
  const samples: number[] = [];
  let recording = false;
  let received = 0;
  const positions = new Float64Array(n);
  const sockets = await openClients(m.url, n, (i, d) => {
    if (d[0] === Op.deliver) {
      const frameStart = readDeliver(d, positions, i);
      received++;
      if (recording) samples.push(performance.now() - d.readDoubleLE(frameStart));
    } else if (d[0] === Op.subscribed) acked++;
  });
  await subscribeAll(sockets, (i) => `lat-${Math.floor(i / m.perRoom)}`, () => acked);
  const frame = Buffer.alloc(FRAME_BYTES, 7);
  const msgs = Array.from({ length: m.rooms }, (_, r) => encodePublish(`lat-${r}`, frame));
  const offsets = msgs.map((_, r) => 2 + `lat-${r}`.length);
  // Paced sender: every tick, send what the schedule owes (rate is deliveries/s; each frame = 1 delivery).
  const start = performance.now();
  let sentCount = 0;
  let next = 0;
  let stop = false;
  const warmEnd = start + 500;
  const end = start + LAT_MS;
  let received0 = 0;
  let measureStart = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!recording && now >= warmEnd) {
        recording = true;
        received0 = received;
        measureStart = now;
      }
      if (now >= end || stop) return resolve();
      const owed = Math.floor(((now - start) / 1000) * framesPerSecond) - sentCount;
      for (let k = 0; k < owed; k++) {
        const r = next++ % m.rooms;
        const msg = msgs[r]!;
        msg.writeDoubleLE(performance.now(), offsets[r]!);
        sockets[m.perRoom * r]!.send(msg);
        sentCount++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  stop = true;
  const rate = ((received - received0) * 1000) / (performance.now() - measureStart);
  await sleep(200);
  await closeAll(sockets);
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  if (process.env.BENCH_RELAY_DEBUG) console.error([0.5, 0.9, 0.95, 0.99, 0.999].map((p) => `${p}:${q(p).toFixed(2)}`).join(' '), samples.length);
  return { p50: q(0.5), p99: q(0.99), max: samples.at(-1) ?? NaN, rate };
}

// ---------------------------------------------------------------------------------------------------------
// Relay process (the memory case)

/** process.memoryUsage() of the relay process after full GCs, with its open connection count. */
interface RelayMemory {
  connections: number;
  rss: number;
  heapUsed: number;
  external: number;
}

async function relayMain(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const server = await startRelayServer();
  process.on('message', async (m: { cmd: 'memory' } | { cmd: 'exit' }) => {
    if (m.cmd === 'memory') {
      await sleep(300); // let the last upgrades' garbage become collectable
      for (let i = 0; i < 3; i++) gc();
      const u = process.memoryUsage();
      const r: RelayMemory = { connections: server.relay.metrics().connections, rss: u.rss, heapUsed: u.heapUsed, external: u.external };
      process.send!(r);
    } else {
      await server.close();
      process.exit(0);
    }
  });
  process.send!({ url: server.url });
}

class RelayProcess {
  private waiting: ((m: any) => void) | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }
  static async start(): Promise<RelayProcess> {
    const child = fork(fileURLToPath(import.meta.url), ['--relay'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', (m: { url: string }) => resolve(m)));
    return new RelayProcess(child, url);
  }
  memory(): Promise<RelayMemory> {
    const reply = new Promise<RelayMemory>((resolve) => (this.waiting = resolve));
    this.child.send({ cmd: 'memory' });
    return reply;
  }
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ cmd: 'exit' });
    setTimeout(() => this.child.kill('SIGKILL'), 10_000).unref();
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parent

class Clients {
  private waiting: ((m: any) => void) | undefined;
  /** Called on the client process's 'start' and 'end' marks of a fan-out measuring window. */
  onMark: ((mark: 'start' | 'end') => void) | undefined;
  constructor(private readonly child: ChildProcess) {
    child.on('message', (m: any) => {
      if (typeof m?.mark === 'string') return this.onMark?.(m.mark);
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }
  static async start(): Promise<Clients> {
    const child = fork(fileURLToPath(import.meta.url), ['--clients'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const c = new Clients(child);
    await c.next();
    return c;
  }
  next(): Promise<any> {
    return new Promise((resolve) => (this.waiting = resolve));
  }
  async ask<T>(cmd: Cmd): Promise<T> {
    const reply = this.next();
    this.child.send(cmd);
    const r = await reply;
    if (r.error) throw new Error(`client process: ${r.error}`);
    return r as T;
  }
  stop(): void {
    this.child.send({ cmd: 'exit' });
    setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
  }
}


type Kind = 'bare' | 'memory' | 'redis' | 'cluster';
/** The engine's name in row names. */
const ENGINE: Record<Exclude<Kind, 'bare'>, string> = { memory: 'memory engine', redis: 'Redis engine', cluster: 'Redis engine on a Redis Cluster (3 primaries + 3 replicas)' };

/** One fan-out run: deliveries/s by wall clock, and the server's CPU during the client's measuring window. */
interface FanoutRun {
  /** Deliveries per second (wall clock, the client's measuring window). */
  hz: number;
  /** The relay (or bare server) process's CPU share during the window (1 = one core). */
  cpu: number;
  /** Deliveries per second of the relay process's CPU time. */
  perCpu: number;
  /** redis-server's CPU share during the window (Redis engine only). */
  redisCpu?: number;
  /** Deliveries per second of relay + redis-server CPU time (Redis engine only). */
  perTotalCpu?: number;
  /** redis-server CPU microseconds per appended frame (XADD calls in INFO commandstats) over the window (Redis engine only). */
  redisUsPerFrame?: number;
  /** INFO commandstats over the window: calls and usec per command (Redis engine only). */
  commands?: Map<string, { calls: number; usec: number }>;
}

type CommandStats = Map<string, { calls: number; usec: number }>;

function commandsDelta(before: CommandStats, after: CommandStats): CommandStats {
  const d: CommandStats = new Map();
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls) d.set(name, { calls: a.calls - b.calls, usec: a.usec - b.usec });
  }
  return d;
}

/** `evalsha 1,234 calls 5.1 µs/call, xadd ...`, per appended frame where `frames` is given. */
function formatCommands(d: CommandStats, frames: number): string {
  return [...d]
    .sort((a, b) => b[1].usec - a[1].usec)
    .map(([name, x]) => `${name} ${x.calls} x ${(x.usec / x.calls).toFixed(2)} µs (${(x.calls / frames).toFixed(2)}/frame)`)
    .join(', ');
}

/**
 * The yardstick for Redis's own cost per frame: `redis-benchmark -P 16` XADDs of a FRAME_BYTES field into
 * 1 000 streams on the same redis-server, measured as redis-server CPU time (/proc) per XADD.
 */
async function xaddBaseline(redis: RedisServer): Promise<{ usPerXadd: number; usecPerCall: number }> {
  await redis.flush();
  const n = 200_000;
  const before = await redis.commandstats();
  const cpu0 = redis.cpuMs();
  const child = spawn('redis-benchmark', ['-p', String(redis.port), '-P', '16', '-c', '4', '-n', String(n), '-r', '1000', 'XADD', 'xadd:{__rand_int__}', '*', 'f', 'x'.repeat(FRAME_BYTES)], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`redis-benchmark exited ${code}`);
  const cpu = redis.cpuMs() - cpu0;
  const xadd = commandsDelta(before, await redis.commandstats()).get('xadd');
  await redis.flush();
  return { usPerXadd: (cpu * 1000) / n, usecPerCall: xadd === undefined ? NaN : xadd.usec / xadd.calls };
}

async function fanoutCase(clients: Clients, kind: Kind, redis: RedisServer | undefined, rooms: number, perRoom: number, window: number): Promise<FanoutRun> {
  if (kind === 'bare' || kind === 'memory') redis = undefined;
  await redis?.flush();
  const server = kind === 'bare' ? await startBareServer() : await startRelayServer(redis);
  try {
    let start: { cpu: NodeJS.CpuUsage; t: number; redis: number; commands?: Promise<CommandStats> } | undefined;
    let end: { cpuMs: number; ms: number; redisMs: number; commands?: Promise<CommandStats> } | undefined;
    const profiling = kind === 'bare' ? undefined : profiler(`${kind}-${rooms}x${perRoom}`);
    clients.onMark = (mark) => {
      profiling?.(mark);
      if (mark === 'start') start = { cpu: process.cpuUsage(), t: performance.now(), redis: redis?.cpuMs() ?? NaN, commands: redis?.commandstats() };
      else if (start !== undefined) {
        const cpu = process.cpuUsage(start.cpu);
        end = { cpuMs: (cpu.user + cpu.system) / 1000, ms: performance.now() - start.t, redisMs: (redis?.cpuMs() ?? NaN) - start.redis, commands: redis?.commandstats() };
      }
    };
    const r = await clients.ask<{ deliveries: number; ms: number }>({ cmd: 'fanout', url: server.url, rooms, perRoom, window });
    clients.onMark = undefined;
    if (end === undefined) throw new Error('no measuring window marks from the client process');
    const hz = (r.deliveries * 1000) / r.ms;
    const run: FanoutRun = { hz, cpu: end.cpuMs / end.ms, perCpu: (r.deliveries * 1000) / end.cpuMs };
    if (redis !== undefined) {
      run.redisCpu = end.redisMs / end.ms;
      run.perTotalCpu = (r.deliveries * 1000) / (end.cpuMs + end.redisMs);
      run.commands = commandsDelta(await start!.commands!, await end.commands!);
      run.redisUsPerFrame = (end.redisMs * 1000) / (run.commands.get('xadd')?.calls ?? NaN);
    }
    return run;
  } finally {
    await server.close();
  }
}

/**
 * BENCH_RELAY_PROFILE=<dir>: a V8 CPU profile of this process (the relay) over each fan-out window of the
 * memory and Redis engines, written to <dir>/<engine>-<case>-<n>.cpuprofile (bench/profile-summary.ts summarises one).
 */
function profiler(name: string): ((mark: 'start' | 'end') => void) | undefined {
  const dir = process.env.BENCH_RELAY_PROFILE;
  if (dir === undefined) return undefined;
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  return (mark) => {
    if (mark === 'start') void post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 200 })).then(() => post('Profiler.start'));
    else
      void post('Profiler.stop').then((r: { profile: unknown }) => {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${name}-${++profiles}.cpuprofile`), JSON.stringify(r.profile));
        session.disconnect();
      });
  };
}
let profiles = 0;

/** The yardstick row of Redis's CPU per appended frame, measured after each round of a fan-out case. */
const xaddName = (label: string) => `relay Redis engine: redis-server CPU per pipelined XADD (redis-benchmark -P 16), after ${label}`;
/** BENCH_RELAY_XADD=0 skips the redis-benchmark yardstick (where redis-benchmark is not installed). */
const XADD_BASELINE = process.env.BENCH_RELAY_XADD !== '0';

const FANOUT_CASES = [
  ['1 room x 100 clients', 1, 100, 64],
  ['1000 rooms x 2 clients', 1000, 2, 4],
] as const;


async function fanout(clients: Clients, rows: Row[]): Promise<void> {
  const redis = WITH_REDIS && (process.env.BENCH_RELAY_KINDS ?? 'redis').includes('redis') ? await startRedisServer() : undefined;
  const cluster = WITH_CLUSTER ? await startClusterServer() : undefined;
  // BENCH_RELAY_KINDS (e.g. 'memory'): only these servers (for profiling; ratios need 'bare').
  const kinds = (process.env.BENCH_RELAY_KINDS?.split(',') as Kind[] | undefined) ?? [...(['bare', 'memory'] as Kind[]), ...(WITH_REDIS ? (['redis'] as Kind[]) : []), ...(WITH_CLUSTER ? (['cluster'] as Kind[]) : [])];
  try {
    for (const [label, rooms, perRoom, window] of FANOUT_CASES) {
      if (process.env.BENCH_RELAY_FANOUT !== undefined && !new RegExp(process.env.BENCH_RELAY_FANOUT).test(label)) continue;
      // Interleaved rounds (bare, memory, Redis back to back: the machine is shared and noisy); each figure is
      // the median of its rounds, each ratio the median of the rounds' ratios.
      const runs: Record<Kind, FanoutRun[]> = { bare: [], memory: [], redis: [], cluster: [] };
      const xadds: { usPerXadd: number; usecPerCall: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        for (const kind of kinds) runs[kind].push(await fanoutCase(clients, kind, kind === 'cluster' ? cluster : redis, rooms, perRoom, window));
        if (redis !== undefined && kinds.includes('redis') && XADD_BASELINE) xadds.push(await xaddBaseline(redis));
      }
      const med = (kind: Kind, f: (x: FanoutRun) => number) => median(runs[kind].map(f));
      const ratio = (kind: Kind, f: (x: FanoutRun) => number) => (runs.bare.length === 0 ? NaN : median(runs[kind].map((x, i) => f(x) / f(runs.bare[i]!))));
      const bareName = `bare ws broadcast fan-out, ${label}`;
      const bareCpuName = `bare ws broadcast fan-out per server CPU-second, ${label}`;
      const hz = (x: FanoutRun) => x.hz;
      const perCpu = (x: FanoutRun) => x.perCpu;
      const perTotal = (x: FanoutRun) => x.perTotalCpu!;
      const totalRatio = (kind: Kind = 'redis') => (runs.bare.length === 0 ? NaN : median(runs[kind].map((x, i) => x.perTotalCpu! / runs.bare[i]!.perCpu)));
      const each = (kind: Kind, f: (x: FanoutRun) => number) => runs[kind].map((x) => round(f(x)));
      for (const kind of kinds) {
        if (kind === 'bare') continue;
        const engine = ENGINE[kind];
        const wall: Row = { name: `relay fan-out, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, hz)), vs: bareName, ratio: round(ratio(kind, hz), 4), serverCpu: round(med(kind, (x) => x.cpu), 3), runs: each(kind, hz) };
        if (kind === 'redis' || kind === 'cluster') wall.redisCpu = round(med(kind, (x) => x.redisCpu!), 3);
        rows.push(wall);
        rows.push({ name: `relay fan-out per relay CPU-second, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, perCpu)), vs: bareCpuName, ratio: round(ratio(kind, perCpu), 4), runs: each(kind, perCpu) });
        if (kind === 'redis' || kind === 'cluster') {
          rows.push({ name: `relay fan-out per relay + redis-server CPU-second, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, perTotal)), vs: bareCpuName, ratio: round(totalRatio(kind), 4), runs: each(kind, perTotal) });
        }
      }
      rows.push({ name: bareName, bytes: FRAME_BYTES, hz: round(med('bare', hz)), vs: null, ratio: null, serverCpu: round(med('bare', (x) => x.cpu), 3), runs: each('bare', hz) });
      rows.push({ name: bareCpuName, bytes: FRAME_BYTES, hz: round(med('bare', perCpu)), vs: null, ratio: null, runs: each('bare', perCpu) });
      const k = (x: number) => `${Math.round(x / 1000)}k`;
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      const line = (kind: Kind) =>
        `${kind.padEnd(6)} wall ${k(med(kind, hz))}/s (runs ${runs[kind].map((x) => `${k(x.hz)} @ ${pct(x.cpu)}${x.redisCpu !== undefined ? ` + redis ${pct(x.redisCpu)}` : ''}`).join(', ')})` +
        `, per relay CPU-s ${k(med(kind, perCpu))} (runs ${runs[kind].map((x) => k(x.perCpu)).join(', ')})` +
        (kind === 'bare' ? '' : `; ratio vs bare: wall ${ratio(kind, hz).toFixed(3)}, per CPU-s ${ratio(kind, perCpu).toFixed(3)}`) +
        (kind === 'redis' || kind === 'cluster' ? `, per relay + redis CPU-s ${k(med(kind, perTotal))} (ratio ${totalRatio(kind).toFixed(3)})` : '');
      console.log(`fan-out ${label} (deliveries/s, medians of ${ROUNDS}; targets: see below):`);
      for (const kind of kinds) console.log(`  ${line(kind)}`);
      if (kinds.includes('redis') && runs.redis.length > 0) {
        const perFrame = median(runs.redis.map((x) => x.redisUsPerFrame!));
        const frameName = `relay Redis engine: redis-server CPU per appended frame, ${label}`;
        if (xadds.length > 0) {
          const xadd = median(xadds.map((x) => x.usPerXadd));
          const ratioXadd = median(runs.redis.map((x, i) => x.redisUsPerFrame! / xadds[i]!.usPerXadd));
          rows.push({ name: frameName, bytes: FRAME_BYTES, hz: round(1e6 / perFrame), us: round(perFrame, 3), vs: xaddName(label), ratio: round(ratioXadd, 4), runs: runs.redis.map((x) => round(x.redisUsPerFrame!, 3)) });
          rows.push({ name: xaddName(label), bytes: FRAME_BYTES, hz: round(1e6 / xadd), us: round(xadd, 3), usecPerCall: round(median(xadds.map((x) => x.usecPerCall)), 3), vs: null, ratio: null, runs: xadds.map((x) => round(x.usPerXadd, 3)) });
          console.log(`  redis-server CPU per appended frame ${perFrame.toFixed(2)} µs (runs ${runs.redis.map((x) => x.redisUsPerFrame!.toFixed(2)).join(', ')}); per pipelined XADD ${xadd.toFixed(2)} µs (runs ${xadds.map((x) => x.usPerXadd.toFixed(2)).join(', ')}; commandstats ${xadds.map((x) => x.usecPerCall.toFixed(2)).join(', ')} µs/call); ratio ${ratioXadd.toFixed(2)}`);
        }
        const mid = runs.redis[Math.floor(runs.redis.length / 2)]!;
        const frames = mid.commands?.get('xadd')?.calls ?? NaN;
        console.log(`  redis commandstats over one window (${frames} frames): ${formatCommands(mid.commands ?? new Map(), frames)}`);
      }
      if (kinds.includes('cluster') && runs.cluster.length > 0) {
        // The cluster against one redis-server in the same rounds: CPU per appended frame over all six processes.
        const name = `relay Redis engine on a Redis Cluster (3 primaries + 3 replicas): redis-server CPU per appended frame, ${label}`;
        const perFrame = median(runs.cluster.map((x) => x.redisUsPerFrame!));
        const single = runs.redis.length > 0 ? median(runs.cluster.map((x, i) => x.redisUsPerFrame! / runs.redis[i]!.redisUsPerFrame!)) : NaN;
        rows.push({ name, bytes: FRAME_BYTES, hz: round(1e6 / perFrame), us: round(perFrame, 3), vs: `relay Redis engine: redis-server CPU per appended frame, ${label}`, ratio: round(single, 4), runs: runs.cluster.map((x) => round(x.redisUsPerFrame!, 3)) });
        const mid = runs.cluster[Math.floor(runs.cluster.length / 2)]!;
        const frames = mid.commands?.get('xadd')?.calls ?? NaN;
        console.log(`  cluster: redis-servers CPU per appended frame ${perFrame.toFixed(2)} µs (runs ${runs.cluster.map((x) => x.redisUsPerFrame!.toFixed(2)).join(', ')}; ${single.toFixed(2)}x one redis-server); commandstats over the primaries (${frames} frames): ${formatCommands(mid.commands ?? new Map(), frames)}`);
      }
    }
  } finally {
    await redis?.stop();
    await cluster?.stop();
  }
}

/** The Redis engine's latency at a rate one node serves easily, against the memory engine's in the same run. */
const REDIS_LAT_RATE = 5_000;

async function redisLatency(clients: Clients, rows: Row[]): Promise<void> {
  type Lat = { p50: number; p99: number; max: number; rate: number };
  const redis = await startRedisServer();
  const cluster = WITH_CLUSTER ? await startClusterServer() : undefined;
  const runs: Record<'memory' | 'redis' | 'cluster', Lat[]> = { memory: [], redis: [], cluster: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of ['memory', 'redis', ...(cluster !== undefined ? ['cluster' as const] : [])] as const) {
        const backend = kind === 'redis' ? redis : kind === 'cluster' ? cluster : undefined;
        await backend?.flush();
        const server = await startRelayServer(backend);
        try {
          runs[kind].push(await clients.ask<Lat>({ cmd: 'latency', url: server.url, rooms: LAT_ROOMS, perRoom: LAT_PER_ROOM, rate: REDIS_LAT_RATE }));
        } finally {
          await server.close();
        }
      }
    }
  } finally {
    await redis.stop();
    await cluster?.stop();
  }
  for (const p of ['p50', 'p99'] as const) {
    const name = (engine: string) => `relay latency ${p} @ 5k deliveries/s, ${engine} engine`;
    const ms = (kind: 'memory' | 'redis') => median(runs[kind].map((x) => x[p]));
    const ratio = median(runs.redis.map((x, i) => x[p] / runs.memory[i]![p]));
    rows.push({ name: name('Redis'), bytes: FRAME_BYTES, hz: round(median(runs.redis.map((x) => x.rate))), vs: name('memory'), ratio: round(ratio, 4), ms: round(ms('redis'), 3), runs: runs.redis.map((x) => round(x[p], 3)) });
    rows.push({ name: name('memory'), bytes: FRAME_BYTES, hz: round(median(runs.memory.map((x) => x.rate))), vs: null, ratio: null, ms: round(ms('memory'), 3), runs: runs.memory.map((x) => round(x[p], 3)) });
    if (runs.cluster.length > 0) {
      const cms = median(runs.cluster.map((x) => x[p]));
      const cratio = median(runs.cluster.map((x, i) => x[p] / runs.memory[i]![p]));
      rows.push({ name: name('Redis (Redis Cluster, 3 primaries + 3 replicas)'), bytes: FRAME_BYTES, hz: round(median(runs.cluster.map((x) => x.rate))), vs: name('memory'), ratio: round(cratio, 4), ms: round(cms, 3), runs: runs.cluster.map((x) => round(x[p], 3)) });
    }
  }
  if (runs.cluster.length > 0) console.log(`  Redis Cluster p50/p99 ms per round: ${runs.cluster.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ')}`);
  const each = (xs: Lat[]) => xs.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ');
  console.log(
    `latency @ ${REDIS_LAT_RATE.toLocaleString()} deliveries/s, Redis engine vs memory engine (${LAT_ROOMS} rooms x ${LAT_PER_ROOM}; p50/p99 ms per round): ` +
      `Redis ${each(runs.redis)}; memory ${each(runs.memory)}; p99 ratio ${median(runs.redis.map((x, i) => x.p99 / runs.memory[i]!.p99)).toFixed(2)}`,
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  console.log(`\nsealsig relay bench: node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}; relay in this process (the memory case: in a second child), clients in a child process; 127.0.0.1`);
  const clients = await Clients.start();
  const rows: Row[] = [];
  try {
    const only = process.env.BENCH_RELAY_ONLY;
    if (only === undefined || only === 'fanout') {
    await fanout(clients, rows);
    }
    if (only === undefined || only === 'latency') {
    // --- latency at a fixed rate ---------------------------------------------------------------------------
    // Three interleaved rounds; the figures are the medians of the three (the VM's noise hits tails hardest).
    type Lat = { p50: number; p99: number; max: number; rate: number };
    const runs: Record<'bare' | 'relay', Lat[]> = { bare: [], relay: [] };
    for (let round = 0; round < 3; round++) {
      for (const kind of ['bare', 'relay'] as const) {
        const server = kind === 'relay' ? await startRelayServer() : await startBareServer();
        try {
          runs[kind].push(await clients.ask<Lat>({ cmd: 'latency', url: server.url, rooms: LAT_ROOMS, perRoom: LAT_PER_ROOM, rate: LAT_RATE }));
        } finally {
          await server.close();
        }
      }
    }
    const summary = (xs: Lat[]): Lat => ({
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      max: Math.max(...xs.map((x) => x.max)),
      rate: median(xs.map((x) => x.rate)),
    });
    const lat = { relay: summary(runs.relay), bare: summary(runs.bare) };
    const each = (xs: Lat[]) => xs.map((x) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`).join(', ');
    const r = lat.relay!;
    const b = lat.bare!;
    for (const p of ['p50', 'p99'] as const) {
      const bareName = `bare ws latency ${p} @ 20k deliveries/s`;
      rows.push({ name: `relay latency ${p} @ 20k deliveries/s`, bytes: FRAME_BYTES, hz: round(r.rate), vs: bareName, ratio: round(r.rate / b.rate, 4), ms: round(r[p], 3), addedMs: round(r[p] - b[p], 3) });
      rows.push({ name: bareName, bytes: FRAME_BYTES, hz: round(b.rate), vs: null, ratio: null, ms: round(b[p], 3) });
    }
    console.log(
      `latency @ ${LAT_RATE.toLocaleString()} deliveries/s (${LAT_ROOMS} rooms x ${LAT_PER_ROOM}: ${LAT_RATE / (LAT_PER_ROOM - 1)} frames/s in; end to end, client send to client receive): ` +
        `relay p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, max ${r.max.toFixed(1)} ms (achieved ${Math.round(r.rate)}/s); ` +
        `bare ws p50 ${b.p50.toFixed(3)} ms, p99 ${b.p99.toFixed(3)} ms (medians of 3 rounds; p50/p99 per round: relay ${each(runs.relay)}, bare ${each(runs.bare)}); added by the relay: p50 ${(r.p50 - b.p50).toFixed(3)} ms, p99 ${(r.p99 - b.p99).toFixed(3)} ms (target p99 < 5 ms)`,
    );

    }
    if (WITH_REDIS && (only === undefined || only === 'latency' || only === 'redis-latency')) await redisLatency(clients, rows);
    if (only === undefined || only === 'memory') {
    // --- memory per idle connection --------------------------------------------------------------------------
    const relayProcess = await RelayProcess.start();
    try {
      const before = await relayProcess.memory();
      const opened = await clients.ask<{ opened: number }>({ cmd: 'idle', url: relayProcess.url, count: IDLE_COUNT });
      const after = await relayProcess.memory();
      const n = opened.opened;
      if (after.connections !== n) throw new Error(`relay holds ${after.connections} connections, the clients opened ${n}`);
      const jsPer = (after.heapUsed + after.external - before.heapUsed - before.external) / n / 1024;
      const rssPer = (after.rss - before.rss) / n / 1024;
      // latest.json rows carry a rate in `hz`; for memory that is idle connections held per MiB of heap
      // (higher is better), with the per-connection KiB beside it.
      rows.push({ name: `relay idle connections per MiB of heap @ ${n}`, bytes: null, hz: round(1024 / jsPer, 1), vs: null, ratio: null, kib: round(jsPer, 2), rssKib: round(rssPer, 2) });
      console.log(
        `memory, ${n.toLocaleString()} idle subscribed connections (relay alone in a fresh process; ulimit -n ${readUlimit()}): ${jsPer.toFixed(2)} KiB each of JS heap + external, ` +
          `${rssPer.toFixed(2)} KiB each of RSS (target <= 20 KiB); relay RSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB`,
      );
      await clients.ask({ cmd: 'close' });
    } finally {
      await relayProcess.stop();
    }
    }
  } finally {
    clients.stop();
  }
  console.log('\nTargets (issue 11 for the memory engine, issue 18 for the Redis engine):');
  printChecks(relayTargets(rows));
  if (process.env.BENCH_RELAY_ONLY !== undefined) return;

  // Every row of this file starts with "relay " or "bare ws ": replace those, keep everyone else's.
  mergeRows((r) => /^(relay |bare ws )/.test(r.name), rows);
  console.log(`merged ${rows.length} relay rows into ${LATEST} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function readUlimit(): string {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    return limits.split('\n').find((l) => l.startsWith('Max open files'))?.split(/\s+/)[3] ?? '?';
  } catch {
    return '?';
  }
}

if (process.argv.includes('--clients')) await clientMain();
else if (process.argv.includes('--relay')) await relayMain();
else await main();
