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
 * BENCH_RELAY_XADD (0: skip the redis-benchmark XADD yardstick), BENCH_RELAY_PROFILE (a directory: write a V8 CPU profile of the relay
 * over each fan-out window of the memory and Redis engines there).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Op, POSITION_BYTES, encodePublish } from '../packages/relay/src/index.js';
import { median, round, type Row } from './harness.js';
import { LATEST, mergeRows } from './results-file.js';
import {
  Child,
  WebSocketServer,
  closeAll,
  commandsDelta,
  fanoutClients,
  openClients,
  readDeliver,
  relayChildMain,
  sleep,
  startRedisServer,
  startRelayServer,
  subscribeAll,
  type CommandStats,
  type FanoutCmd,
  type RedisServer,
  type RelaySample,
  type Server,
} from './relay-kit.js';
import { printChecks, relayTargets } from './targets.js';

const FRAME_BYTES = 400; // about one padded sealsig frame (256-byte bucket + header)
const MEASURE_MS = Number(process.env.BENCH_RELAY_MS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 3);
const WITH_REDIS = process.env.BENCH_RELAY_REDIS !== '0';
const WARM_MS = 1_000;
const IDLE_COUNT = Number(process.env.BENCH_RELAY_IDLE ?? 10_000);
const LAT_RATE = 20_000;
const LAT_MS = 3_000;
/** 20 rooms of 11: 2 000 frames/s in, 20 000 deliveries/s out (the client process stays far from saturation). */
const LAT_ROOMS = 20;
const LAT_PER_ROOM = 11;


// ---------------------------------------------------------------------------------------------------------
// Servers



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



// ---------------------------------------------------------------------------------------------------------
// Client process

type Cmd =
  | FanoutCmd
  | { cmd: 'latency'; url: string; rooms: number; perRoom: number; rate: number }
  | { cmd: 'idle'; url: string; count: number }
  | { cmd: 'close' }
  | { cmd: 'exit' };





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

type Kind = 'bare' | 'memory' | 'redis';

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

async function fanoutCase(clients: Child, kind: Kind, redis: RedisServer | undefined, rooms: number, perRoom: number, window: number): Promise<FanoutRun> {
  if (kind === 'redis') await redis!.flush();
  const server = kind === 'bare' ? await startBareServer() : await startRelayServer(kind === 'redis' ? redis!.url : undefined);
  try {
    let start: { cpu: NodeJS.CpuUsage; t: number; redis: number; commands?: Promise<CommandStats> } | undefined;
    let end: { cpuMs: number; ms: number; redisMs: number; commands?: Promise<CommandStats> } | undefined;
    const profiling = kind === 'bare' ? undefined : profiler(`${kind}-${rooms}x${perRoom}`);
    clients.onMark = (mark) => {
      profiling?.(mark);
      if (mark === 'start') start = { cpu: process.cpuUsage(), t: performance.now(), redis: redis?.cpuMs() ?? NaN, commands: kind === 'redis' ? redis!.commandstats() : undefined };
      else if (start !== undefined) {
        const cpu = process.cpuUsage(start.cpu);
        end = { cpuMs: (cpu.user + cpu.system) / 1000, ms: performance.now() - start.t, redisMs: (redis?.cpuMs() ?? NaN) - start.redis, commands: kind === 'redis' ? redis!.commandstats() : undefined };
      }
    };
    const r = await clients.ask<{ deliveries: number; ms: number }>({ cmd: 'fanout', url: server.url, rooms, perRoom, window, frameBytes: FRAME_BYTES, warmMs: WARM_MS, measureMs: MEASURE_MS } satisfies Cmd);
    clients.onMark = undefined;
    if (end === undefined) throw new Error('no measuring window marks from the client process');
    const hz = (r.deliveries * 1000) / r.ms;
    const run: FanoutRun = { hz, cpu: end.cpuMs / end.ms, perCpu: (r.deliveries * 1000) / end.cpuMs };
    if (kind === 'redis') {
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


async function fanout(clients: Child, rows: Row[]): Promise<void> {
  const redis = WITH_REDIS && (process.env.BENCH_RELAY_KINDS ?? 'redis').includes('redis') ? await startRedisServer() : undefined;
  // BENCH_RELAY_KINDS (e.g. 'memory'): only these servers (for profiling; ratios need 'bare').
  const kinds = (process.env.BENCH_RELAY_KINDS?.split(',') as Kind[] | undefined) ?? (WITH_REDIS ? ['bare', 'memory', 'redis'] : ['bare', 'memory']);
  try {
    for (const [label, rooms, perRoom, window] of FANOUT_CASES) {
      if (process.env.BENCH_RELAY_FANOUT !== undefined && !new RegExp(process.env.BENCH_RELAY_FANOUT).test(label)) continue;
      // Interleaved rounds (bare, memory, Redis back to back: the machine is shared and noisy); each figure is
      // the median of its rounds, each ratio the median of the rounds' ratios.
      const runs: Record<Kind, FanoutRun[]> = { bare: [], memory: [], redis: [] };
      const xadds: { usPerXadd: number; usecPerCall: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        for (const kind of kinds) runs[kind].push(await fanoutCase(clients, kind, redis, rooms, perRoom, window));
        if (redis !== undefined && kinds.includes('redis') && XADD_BASELINE) xadds.push(await xaddBaseline(redis));
      }
      const med = (kind: Kind, f: (x: FanoutRun) => number) => median(runs[kind].map(f));
      const ratio = (kind: Kind, f: (x: FanoutRun) => number) => (runs.bare.length === 0 ? NaN : median(runs[kind].map((x, i) => f(x) / f(runs.bare[i]!))));
      const bareName = `bare ws broadcast fan-out, ${label}`;
      const bareCpuName = `bare ws broadcast fan-out per server CPU-second, ${label}`;
      const hz = (x: FanoutRun) => x.hz;
      const perCpu = (x: FanoutRun) => x.perCpu;
      const perTotal = (x: FanoutRun) => x.perTotalCpu!;
      const totalRatio = () => (runs.bare.length === 0 ? NaN : median(runs.redis.map((x, i) => x.perTotalCpu! / runs.bare[i]!.perCpu)));
      const each = (kind: Kind, f: (x: FanoutRun) => number) => runs[kind].map((x) => round(f(x)));
      for (const kind of kinds) {
        if (kind === 'bare') continue;
        const engine = kind === 'memory' ? 'memory engine' : 'Redis engine';
        const wall: Row = { name: `relay fan-out, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, hz)), vs: bareName, ratio: round(ratio(kind, hz), 4), serverCpu: round(med(kind, (x) => x.cpu), 3), runs: each(kind, hz) };
        if (kind === 'redis') wall.redisCpu = round(med(kind, (x) => x.redisCpu!), 3);
        rows.push(wall);
        rows.push({ name: `relay fan-out per relay CPU-second, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, perCpu)), vs: bareCpuName, ratio: round(ratio(kind, perCpu), 4), runs: each(kind, perCpu) });
        if (kind === 'redis') {
          rows.push({ name: `relay fan-out per relay + redis-server CPU-second, ${engine}, ${label}`, bytes: FRAME_BYTES, hz: round(med(kind, perTotal)), vs: bareCpuName, ratio: round(totalRatio(), 4), runs: each(kind, perTotal) });
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
        (kind === 'redis' ? `, per relay + redis CPU-s ${k(med(kind, perTotal))} (ratio ${totalRatio().toFixed(3)})` : '');
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
    }
  } finally {
    await redis?.stop();
  }
}

/** The Redis engine's latency at a rate one node serves easily, against the memory engine's in the same run. */
const REDIS_LAT_RATE = 5_000;

async function redisLatency(clients: Child, rows: Row[]): Promise<void> {
  type Lat = { p50: number; p99: number; max: number; rate: number };
  const redis = await startRedisServer();
  const runs: Record<'memory' | 'redis', Lat[]> = { memory: [], redis: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of ['memory', 'redis'] as const) {
        if (kind === 'redis') await redis.flush();
        const server = await startRelayServer(kind === 'redis' ? redis.url : undefined);
        try {
          runs[kind].push(await clients.ask<Lat>({ cmd: 'latency', url: server.url, rooms: LAT_ROOMS, perRoom: LAT_PER_ROOM, rate: REDIS_LAT_RATE }));
        } finally {
          await server.close();
        }
      }
    }
  } finally {
    await redis.stop();
  }
  for (const p of ['p50', 'p99'] as const) {
    const name = (engine: string) => `relay latency ${p} @ 5k deliveries/s, ${engine} engine`;
    const ms = (kind: 'memory' | 'redis') => median(runs[kind].map((x) => x[p]));
    const ratio = median(runs.redis.map((x, i) => x[p] / runs.memory[i]![p]));
    rows.push({ name: name('Redis'), bytes: FRAME_BYTES, hz: round(median(runs.redis.map((x) => x.rate))), vs: name('memory'), ratio: round(ratio, 4), ms: round(ms('redis'), 3), runs: runs.redis.map((x) => round(x[p], 3)) });
    rows.push({ name: name('memory'), bytes: FRAME_BYTES, hz: round(median(runs.memory.map((x) => x.rate))), vs: null, ratio: null, ms: round(ms('memory'), 3), runs: runs.memory.map((x) => round(x[p], 3)) });
  }
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
  const clients = await Child.start(fileURLToPath(import.meta.url), ['--clients']);
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
    const relayProcess = await Child.start(fileURLToPath(import.meta.url), ['--relay']);
    const memory = () => relayProcess.ask<RelaySample>({ cmd: 'sample', gc: true });
    try {
      const before = await memory();
      const opened = await clients.ask<{ opened: number }>({ cmd: 'idle', url: relayProcess.hello.url as string, count: IDLE_COUNT });
      const after = await memory();
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
    await clients.stop();
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
else if (process.argv.includes('--relay')) await relayChildMain();
else await main();
