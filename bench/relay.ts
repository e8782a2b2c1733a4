/**
 * `pnpm bench` (after bench/run.ts): the @sealsig/relay benchmarks. Merges its rows into
 * bench/results/latest.json (replacing earlier relay rows, keeping everyone else's).
 *
 * The relay (or the bare `ws` baseline) runs in this process; the clients run in one forked child process
 * (this same file with `--clients`), so client work does not share the server's event loop. Both processes
 * talk over 127.0.0.1 only. Everything is bounded in count and time (about 40 s in all).
 *
 * Cases:
 *   - fan-out deliveries/s: 1 room x 100 clients, and 1 000 rooms x 2 clients; one publisher per room keeps a
 *     small window of frames in flight (closed loop); relay with every protection on (rate limits, retention,
 *     heartbeat, backpressure checks, connection limits) against a bare `ws` broadcast loop, same clients;
 *   - latency at a fixed 20 000 deliveries/s (20 rooms x 11: 2 000 frames/s in), p50 and p99, relay and bare `ws`;
 *   - memory per idle connection with 10 000 connections (5 000 rooms x 2, each subscribed): this relay runs
 *     alone in a second child process (this file with `--relay`), fresh, so neither the clients' sockets nor
 *     the earlier cases' heap and RSS high-water mark are counted; it reports process.memoryUsage() over IPC.
 *
 * Environment: BENCH_RELAY_MS (measure window per fan-out case, default 2000), BENCH_RELAY_IDLE (idle
 * connection count, default 10000; each process needs that many file descriptors, so lower it when
 * `ulimit -n` is below about 10 100), BENCH_RELAY_ONLY (fanout, latency or memory: run one part, merge nothing).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Op, SUBPROTOCOL, createRelay, encodeFrameMessage, encodeTopicMessage, type Relay } from '../packages/relay/src/index.js';
import { median, round, type Row } from './harness.js';
import { LATEST, mergeRows } from './results-file.js';

// `ws` is a dependency of the relay package, not of the repository root.
const require = createRequire(new URL('../packages/relay/package.json', import.meta.url));
const { WebSocket, WebSocketServer } = require('ws') as typeof import('ws');

const FRAME_BYTES = 400; // about one padded sealsig frame (256-byte bucket + header)
const MEASURE_MS = Number(process.env.BENCH_RELAY_MS ?? 2_000);
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

async function startRelayServer(): Promise<Server & { relay: Relay }> {
  const relay = createRelay({
    host: '127.0.0.1',
    port: 0,
    maxConnections: 20_000,
    maxConnectionsPerIp: 20_000,
    // Protections on, with limits a benchmark's honest publishers stay under.
    rateLimit: { frames: { perSecond: 1_000_000, burst: 1_000_000 }, subscriptions: { perSecond: 1_000, burst: 1_000 } },
    ...(process.env.BENCH_RELAY_RETENTION === '0' ? { retention: false as const } : {}),
  });
  const { port } = await relay.listen();
  return { relay, url: `ws://127.0.0.1:${port}/`, close: () => relay.close() };
}

/** The baseline: a bare `ws` server doing the same routing with no limit, check, metric or retention. */
async function startBareServer(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const rooms = new Map<string, Set<import('ws').WebSocket>>();
  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0x01) {
        const topic = data.subarray(1).toString('latin1');
        let room = rooms.get(topic);
        if (room === undefined) rooms.set(topic, (room = new Set()));
        room.add(ws);
        mine.add(topic);
        ws.send(Buffer.concat([Buffer.from([0x11]), data.subarray(1)]));
      } else if (data[0] === 0x03) {
        const topic = data.subarray(2, 2 + data[1]!).toString('latin1');
        const out = Buffer.from(data);
        out[0] = 0x10;
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
  sockets.forEach((ws, i) => ws.send(encodeTopicMessage(Op.subscribe, topicOf(i))));
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
          if (d[0] === 0x11) acked++;
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

async function fanoutClients(m: Extract<Cmd, { cmd: 'fanout' }>): Promise<{ deliveries: number; ms: number }> {
  const n = m.rooms * m.perRoom;
  const room = (i: number) => Math.floor(i / m.perRoom);
  const topic = (r: number) => `room-${r}`;
  const frame = new Uint8Array(FRAME_BYTES).fill(7);
  const sent = new Array<number>(m.rooms).fill(0);
  const seenByProbe = new Array<number>(m.rooms).fill(0); // member 1 of each room paces its publisher
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
    if (d[0] === 0x11) acked++;
    else if (d[0] === 0x10) {
      deliveries++;
      if (i % m.perRoom === 1) {
        const r = room(i);
        seenByProbe[r]!++;
        top(r);
      }
    }
  });
  for (let r = 0; r < m.rooms; r++) messages.set(r, encodeFrameMessage(Op.publish, topic(r), frame));
  await subscribeAll(sockets, (i) => topic(room(i)), () => acked);
  running = true;
  for (let r = 0; r < m.rooms; r++) top(r);
  await sleep(WARM_MS);
  const d0 = deliveries;
  const t0 = performance.now();
  await sleep(MEASURE_MS);
  const result = { deliveries: deliveries - d0, ms: performance.now() - t0 };
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
  const sockets = await openClients(m.url, n, (_i, d) => {
    if (d[0] === 0x11) acked++;
    else if (d[0] === 0x10) {
      received++;
      if (recording) {
        const off = 2 + d[1]!;
        samples.push(performance.now() - d.readDoubleLE(off));
      }
    }
  });
  await subscribeAll(sockets, (i) => `lat-${Math.floor(i / m.perRoom)}`, () => acked);
  const frame = Buffer.alloc(FRAME_BYTES, 7);
  const msgs = Array.from({ length: m.rooms }, (_, r) => encodeFrameMessage(Op.publish, `lat-${r}`, frame));
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
  constructor(private readonly child: ChildProcess) {
    child.on('message', (m) => {
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


async function fanoutCase(clients: Clients, kind: 'relay' | 'bare', rooms: number, perRoom: number, window: number): Promise<{ hz: number; cpu: number }> {
  const server = kind === 'relay' ? await startRelayServer() : await startBareServer();
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await clients.ask<{ deliveries: number; ms: number }>({ cmd: 'fanout', url: server.url, rooms, perRoom, window });
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { hz: (r.deliveries * 1000) / r.ms, cpu: (cpu.user + cpu.system) / 1000 / wall };
  } finally {
    await server.close();
  }
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
    // --- fan-out -----------------------------------------------------------------------------------------
    for (const [label, rooms, perRoom, window] of [
      ['1 room x 100 clients', 1, 100, 64],
      ['1000 rooms x 2 clients', 1000, 2, 4],
    ] as const) {
      // Interleaved, two rounds each, best of two (the machine is shared and noisy).
      const relay: { hz: number; cpu: number }[] = [];
      const bare: { hz: number; cpu: number }[] = [];
      for (let round = 0; round < 2; round++) {
        bare.push(await fanoutCase(clients, 'bare', rooms, perRoom, window));
        relay.push(await fanoutCase(clients, 'relay', rooms, perRoom, window));
      }
      const best = (xs: { hz: number; cpu: number }[]) => xs.reduce((a, b) => (b.hz > a.hz ? b : a));
      const perCpu = (xs: { hz: number; cpu: number }[]) => Math.max(...xs.map((x) => x.hz / x.cpu));
      const r = best(relay);
      const b = best(bare);
      const bareName = `bare ws broadcast fan-out, ${label}`;
      rows.push({ name: `relay fan-out, ${label}`, bytes: FRAME_BYTES, hz: round(r.hz), vs: bareName, ratio: round(r.hz / b.hz, 4), serverCpu: round(r.cpu, 3) });
      rows.push({ name: bareName, bytes: FRAME_BYTES, hz: round(b.hz), vs: null, ratio: null, serverCpu: round(b.cpu, 3) });
      const bareCpuName = `bare ws broadcast fan-out per server CPU-second, ${label}`;
      rows.push({ name: `relay fan-out per server CPU-second, ${label}`, bytes: FRAME_BYTES, hz: round(perCpu(relay)), vs: bareCpuName, ratio: round(perCpu(relay) / perCpu(bare), 4) });
      rows.push({ name: bareCpuName, bytes: FRAME_BYTES, hz: round(perCpu(bare)), vs: null, ratio: null });
      const fmt = (xs: { hz: number; cpu: number }[]) => xs.map((x) => `${Math.round(x.hz)} @ ${Math.round(x.cpu * 100)}% CPU`).join(', ');
      console.log(
        `fan-out ${label}: relay ${Math.round(r.hz).toLocaleString()} deliveries/s (runs ${fmt(relay)}), bare ws ${Math.round(b.hz).toLocaleString()} (runs ${fmt(bare)}): ` +
          `ratio ${(r.hz / b.hz).toFixed(3)} (target >= 0.8); per server CPU-second: relay ${Math.round(perCpu(relay)).toLocaleString()}, bare ${Math.round(perCpu(bare)).toLocaleString()}, ratio ${(perCpu(relay) / perCpu(bare)).toFixed(3)}`,
      );
    }
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
