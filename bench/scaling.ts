/**
 * `pnpm bench:scaling` (and `pnpm bench`, after bench/relay.ts): the measurements docs/SCALING.md's capacity
 * model is built from. Merges its rows (every name starts with "scaling: ") into bench/results/latest.json.
 *
 * Processes: this one (the orchestrator: it starts a redis-server on a free port and reads its CPU time from
 * /proc and its INFO), a client process (this file with `--clients`: `ws` clients) and, per case, a relay
 * in a fresh process of its own (this file with `--relay [redis url]`, bench/relay-kit.ts relayChildMain),
 * which reports process.cpuUsage(), process.memoryUsage() (after full GCs where memory is measured) and its
 * counters over IPC. Every per-frame cost is CPU time, not wall clock: the machine may be shared.
 *
 * Parts:
 *   1. relay CPU per delivered frame: the relay's CPU time over a measuring window divided by the DELIVERs it
 *      sent in that window (its framesOut counter, read with the CPU time in one sample); the clients'
 *      own count of deliveries is printed beside it. Fan-out shapes 1 room x 100 and 1,000 rooms x 2, 256-byte
 *      frames, memory and Redis engines, BENCH_SCALING_ROUNDS interleaved rounds, medians. From the two
 *      shapes, per engine: CPU = a x frames in + b x deliveries, solved for a (per PUBLISH) and b (per delivery);
 *   2. redis-server CPU per appended frame: its CPU time over the same windows / XADD calls (INFO commandstats);
 *   3. memory on a node: BENCH_SCALING_IDLE connections opened (no subscription), then each subscribed to one
 *      topic, then to BENCH_SCALING_TOPICS in all (each topic shared by two connections, as in a session);
 *      RSS and heap + external after full GCs at each step; Redis engine also Redis used_memory (the pub/sub
 *      channels of the topics the node follows). Each engine BENCH_SCALING_MEMORY_ROUNDS times, medians;
 *   4. Redis memory per stream at the default retention (1,000 frames, MAXLEN ~): used_memory before and after
 *      the Redis engine itself (createRedisEngine, the relay's APPEND script: stream, epoch hash, expiries)
 *      fills 100 streams past their retention, and 10,000 streams with 1 and with 4 frames (an idle inbox);
 *   5. redis-server CPU per PUBLISH with 0, 1 and 4 subscriber connections (`redis-benchmark -P 16` PUBLISH to
 *      1,000 channels): what one notification costs Redis per node that follows the topic.
 *
 * Environment: BENCH_SCALING_ROUNDS (3), BENCH_SCALING_MS (measuring window, 2000), BENCH_SCALING_IDLE
 * (connections, 5000; the relay and the client process each need that many file descriptors),
 * BENCH_SCALING_TOPICS (8), BENCH_SCALING_MEMORY_ROUNDS (3), BENCH_SCALING_ONLY (fanout, memory, streams or
 * pubsub: run one part, merge nothing).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Op } from '../packages/relay/src/index.js';
import { createRedisEngine } from '../packages/relay/src/redis-engine.js';
import { median, round, type Row } from './harness.js';
import { LATEST, mergeRows } from './results-file.js';
import { Child, Redis, closeAll, commandsDelta, fanoutClients, openClients, relayChildMain, sleep, startRedisServer, subscribeAll, type FanoutCmd, type RedisServer, type RelaySample } from './relay-kit.js';

const FRAME_BYTES = 256;
const ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 3);
const MEASURE_MS = Number(process.env.BENCH_SCALING_MS ?? 2_000);
const WARM_MS = 1_000;
const IDLE = Number(process.env.BENCH_SCALING_IDLE ?? 5_000);
const TOPICS = Number(process.env.BENCH_SCALING_TOPICS ?? 8);
const MEMORY_ROUNDS = Number(process.env.BENCH_SCALING_MEMORY_ROUNDS ?? 3);
/** The Redis engine's default retention (packages/relay/src/redis-options.ts: maxFrames). */
const RETENTION_FRAMES = 1_000;
const FULL_STREAMS = 100;
const SHORT_STREAMS = 10_000;
const SCRIPT = fileURLToPath(import.meta.url);

type Engine = 'memory' | 'redis';
const ENGINES: Engine[] = ['memory', 'redis'];
const engineName = (e: Engine) => (e === 'memory' ? 'memory engine' : 'Redis engine');
const SHAPES = [
  ['1 room x 100 clients', 1, 100, 64],
  ['1000 rooms x 2 clients', 1000, 2, 4],
] as const;

// ---------------------------------------------------------------------------------------------------------
// Client process

type ClientCmd = FanoutCmd | { cmd: 'open'; url: string; count: number } | { cmd: 'subscribe'; from: number; to: number } | { cmd: 'close' } | { cmd: 'exit' };

/** Topic k of connection i: two connections per topic (a pair, as in a two-member session). */
const pairTopic = (i: number, k: number) => `p${i >> 1}-${k}`;

async function clientMain(): Promise<void> {
  let sockets: import('ws').WebSocket[] = [];
  let acked = 0;
  process.on('message', async (m: ClientCmd) => {
    try {
      if (m.cmd === 'fanout') process.send!(await fanoutClients(m));
      else if (m.cmd === 'open') {
        sockets = await openClients(m.url, m.count, (_i, d) => {
          if (d[0] === Op.subscribed) acked++;
        });
        process.send!({ opened: sockets.length });
      } else if (m.cmd === 'subscribe') {
        // Topic by topic, so that no connection exceeds the subscription rate limit's burst.
        for (let k = m.from; k < m.to; k++) {
          const before = acked;
          await subscribeAll(sockets, (i) => pairTopic(i, k), () => acked - before, 60_000);
        }
        process.send!({ subscribed: true });
      } else if (m.cmd === 'close') {
        await closeAll(sockets);
        sockets = [];
        process.send!({ closed: true });
      } else process.exit(0);
    } catch (e) {
      process.send!({ error: String(e) });
    }
  });
  process.send!({ ready: true });
}

// ---------------------------------------------------------------------------------------------------------
// 1, 2: CPU per delivered frame (relay) and per appended frame (redis-server)

interface FanoutRun {
  /** Relay CPU µs per DELIVER sent, per PUBLISH accepted. */
  usPerDelivery: number;
  usPerFrameIn: number;
  /** DELIVERs per PUBLISH over the window. */
  fanout: number;
  /** Deliveries per second counted by the clients over their window / by the relay over its own (a check: about 1). */
  clientsOverRelay: number;
  /** redis-server CPU ms and XADD calls over the window (Redis engine). */
  redisMs?: number;
  xadds?: number;
}

async function fanoutRun(clients: Child, engine: Engine, redis: RedisServer, rooms: number, perRoom: number, window: number): Promise<FanoutRun> {
  if (engine === 'redis') await redis.flush();
  const relay = await Child.start(SCRIPT, engine === 'redis' ? ['--relay', redis.url] : ['--relay']);
  try {
    // Both samples inside the clients' window (the relay's counters and CPU time read together, in the relay):
    // at the clients' start mark and MEASURE_MS - 250 ms later, while the publishers still publish.
    type Mark = { relay: Promise<RelaySample>; at: number; redisMs: number; commands: ReturnType<RedisServer['commandstats']> };
    const mark = (): Mark => ({ relay: relay.ask<RelaySample>({ cmd: 'sample', gc: false }), at: performance.now(), redisMs: redis.cpuMs(), commands: redis.commandstats() });
    let m0 = undefined as Mark | undefined;
    let m1 = undefined as Promise<Mark> | undefined;
    clients.onMark = (which) => {
      if (which !== 'start') return;
      m0 = mark();
      m1 = sleep(MEASURE_MS - 250).then(async () => (await m0!.relay, mark()));
    };
    const r = await clients.ask<{ deliveries: number; ms: number }>({ cmd: 'fanout', url: relay.hello.url, rooms, perRoom, window, frameBytes: FRAME_BYTES, warmMs: WARM_MS, measureMs: MEASURE_MS } satisfies ClientCmd);
    clients.onMark = undefined;
    if (m0 === undefined || m1 === undefined) throw new Error('no measuring window mark from the client process');
    const e = await m1;
    const [s0, s1] = [await m0.relay, await e.relay];
    const out = s1.framesOut - s0.framesOut;
    const into = s1.framesIn - s0.framesIn;
    const cpuUs = (s1.cpuMs - s0.cpuMs) * 1000;
    const run: FanoutRun = { usPerDelivery: cpuUs / out, usPerFrameIn: cpuUs / into, fanout: out / into, clientsOverRelay: r.deliveries / r.ms / (out / (e.at - m0.at)) };
    if (engine === 'redis') {
      run.redisMs = e.redisMs - m0.redisMs;
      run.xadds = commandsDelta(await m0.commands, await e.commands).get('xadd')?.calls ?? NaN;
    }
    return run;
  } finally {
    await relay.stop();
  }
}

async function fanout(clients: Child, redis: RedisServer, rows: Row[]): Promise<void> {
  const runs = new Map<string, FanoutRun[]>();
  const key = (engine: Engine, label: string) => `${engine} ${label}`;
  for (let i = 0; i < ROUNDS; i++) {
    for (const [label, rooms, perRoom, window] of SHAPES) {
      for (const engine of ENGINES) {
        const run = await fanoutRun(clients, engine, redis, rooms, perRoom, window);
        runs.set(key(engine, label), [...(runs.get(key(engine, label)) ?? []), run]);
      }
    }
  }
  const med = (xs: FanoutRun[], f: (x: FanoutRun) => number) => median(xs.map(f));
  for (const engine of ENGINES) {
    const fit: { x: number; f: number }[] = [];
    for (const [label] of SHAPES) {
      const xs = runs.get(key(engine, label))!;
      const us = med(xs, (x) => x.usPerDelivery);
      fit.push({ x: med(xs, (x) => x.usPerFrameIn), f: med(xs, (x) => x.fanout) });
      rows.push({
        name: `scaling: relay CPU per delivered frame, ${engineName(engine)}, ${label}`,
        bytes: FRAME_BYTES,
        hz: round(1e6 / us),
        vs: null,
        ratio: null,
        us: round(us, 3),
        usPerFrameIn: round(med(xs, (x) => x.usPerFrameIn), 3),
        fanout: round(med(xs, (x) => x.fanout), 2),
        runs: xs.map((x) => round(x.usPerDelivery, 3)),
      });
      console.log(
        `relay CPU per delivered frame, ${engineName(engine)}, ${label}: ${us.toFixed(2)} µs (runs ${xs.map((x) => x.usPerDelivery.toFixed(2)).join(', ')}); ` +
          `per PUBLISH ${med(xs, (x) => x.usPerFrameIn).toFixed(2)} µs at fan-out ${med(xs, (x) => x.fanout).toFixed(1)}; deliveries/s counted by the clients / by the relay ${xs.map((x) => x.clientsOverRelay.toFixed(3)).join(', ')}`,
      );
      if (engine === 'redis') {
        // Pooled over the rounds (redis-server uses a few tens of ms of CPU per window at 1 room x 100).
        const perRun = xs.map((x) => (x.redisMs! * 1000) / x.xadds!);
        const r = (xs.reduce((s, x) => s + x.redisMs!, 0) * 1000) / xs.reduce((s, x) => s + x.xadds!, 0);
        rows.push({ name: `scaling: redis-server CPU per appended frame, ${label}`, bytes: FRAME_BYTES, hz: round(1e6 / r), vs: null, ratio: null, us: round(r, 3), runs: perRun.map((x) => round(x, 3)) });
        console.log(`redis-server CPU per appended frame, ${label}: ${r.toFixed(2)} µs, pooled (runs ${perRun.map((x) => x.toFixed(2)).join(', ')}; ${xs.map((x) => x.redisMs).join(', ')} ms over ${xs.map((x) => x.xadds).join(', ')} XADDs)`);
      }
    }
    // CPU per PUBLISH = a + b x fan-out, through the two shapes' medians.
    const [p, q] = fit as [{ x: number; f: number }, { x: number; f: number }];
    const b = (p.x - q.x) / (p.f - q.f);
    const a = q.x - b * q.f;
    rows.push({ name: `scaling: relay CPU per accepted PUBLISH (fan-out aside), ${engineName(engine)}`, bytes: FRAME_BYTES, hz: round(1e6 / a), vs: null, ratio: null, us: round(a, 3) });
    rows.push({ name: `scaling: relay CPU per delivery (each recipient), ${engineName(engine)}`, bytes: FRAME_BYTES, hz: round(1e6 / b), vs: null, ratio: null, us: round(b, 3) });
    console.log(`  ${engineName(engine)}: relay CPU = ${a.toFixed(2)} µs per PUBLISH + ${b.toFixed(2)} µs per delivery`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3: memory per idle connection and per subscribed topic on a node

interface MemoryRun {
  /** Per connection with no subscription, and with one: KiB of RSS and of heap + external. */
  bareRss: number;
  bareHeap: number;
  rss: number;
  heap: number;
  /** Per further subscription (connections x (TOPICS - 1)). */
  subRss: number;
  subHeap: number;
  /** Redis engine: Redis used_memory bytes per topic the node follows (pub/sub channel). */
  redisPerTopic?: number;
}

async function memoryRun(clients: Child, engine: Engine, redis: RedisServer): Promise<MemoryRun> {
  if (engine === 'redis') await redis.flush();
  const relay = await Child.start(SCRIPT, engine === 'redis' ? ['--relay', redis.url] : ['--relay']);
  const usedMemory = async () => Number((await redis.info('memory')).get('used_memory'));
  try {
    const sample = () => relay.ask<RelaySample>({ cmd: 'sample', gc: true });
    const s0 = await sample();
    const { opened: n } = await clients.ask<{ opened: number }>({ cmd: 'open', url: relay.hello.url, count: IDLE });
    const s1 = await sample();
    const r1 = await usedMemory();
    await clients.ask({ cmd: 'subscribe', from: 0, to: 1 });
    const s2 = await sample();
    const r2 = await usedMemory();
    await clients.ask({ cmd: 'subscribe', from: 1, to: TOPICS });
    const s3 = await sample();
    const r3 = await usedMemory();
    if (s3.connections !== n || s3.topics !== (n / 2) * TOPICS) throw new Error(`relay holds ${s3.connections} connections and ${s3.topics} topics, expected ${n} and ${(n / 2) * TOPICS}`);
    await clients.ask({ cmd: 'close' });
    const kib = (x: number, per: number) => x / per / 1024;
    const heap = (s: RelaySample) => s.heapUsed + s.external;
    const subs = n * (TOPICS - 1);
    const run: MemoryRun = {
      bareRss: kib(s1.rss - s0.rss, n),
      bareHeap: kib(heap(s1) - heap(s0), n),
      rss: kib(s2.rss - s0.rss, n),
      heap: kib(heap(s2) - heap(s0), n),
      subRss: kib(s3.rss - s2.rss, subs),
      subHeap: kib(heap(s3) - heap(s2), subs),
    };
    if (engine === 'redis') run.redisPerTopic = (r3 - r1) / (s3.topics - s1.topics);
    console.log(
      `memory, ${engineName(engine)}, ${n} connections: per connection ${run.bareRss.toFixed(2)} KiB RSS / ${run.bareHeap.toFixed(2)} KiB heap, ` +
        `with one subscription ${run.rss.toFixed(2)} / ${run.heap.toFixed(2)}; per further subscription ${run.subRss.toFixed(2)} / ${run.subHeap.toFixed(2)} KiB` +
        (engine === 'redis' ? `; Redis used_memory ${(r2 - r1) / (n / 2)} B per topic after the first, ${run.redisPerTopic!.toFixed(0)} B over all` : '') +
        `; relay RSS ${(s0.rss / 2 ** 20).toFixed(1)} -> ${(s3.rss / 2 ** 20).toFixed(1)} MiB`,
    );
    return run;
  } finally {
    await relay.stop();
  }
}

async function memory(clients: Child, redis: RedisServer, rows: Row[]): Promise<void> {
  const runs: Record<Engine, MemoryRun[]> = { memory: [], redis: [] };
  for (let i = 0; i < MEMORY_ROUNDS; i++) for (const engine of ENGINES) runs[engine].push(await memoryRun(clients, engine, redis));
  for (const engine of ENGINES) {
    const xs = runs[engine];
    const m = (f: (x: MemoryRun) => number) => round(median(xs.map(f)), 2);
    const each = (f: (x: MemoryRun) => number) => xs.map((x) => round(f(x), 2));
    // hz: connections (or subscriptions) per GiB of RSS.
    rows.push({ name: `scaling: relay memory per idle connection, ${engineName(engine)}`, bytes: null, hz: round(2 ** 20 / m((x) => x.rss)), vs: null, ratio: null, n: IDLE, rssKib: m((x) => x.rss), heapKib: m((x) => x.heap), bareRssKib: m((x) => x.bareRss), bareHeapKib: m((x) => x.bareHeap), runs: each((x) => x.rss) });
    rows.push({ name: `scaling: relay memory per further subscribed topic, ${engineName(engine)}`, bytes: null, hz: round(2 ** 20 / m((x) => x.subRss)), vs: null, ratio: null, n: IDLE, topics: TOPICS, rssKib: m((x) => x.subRss), heapKib: m((x) => x.subHeap), runs: each((x) => x.subRss) });
  }
  const perTopic = median(runs.redis.map((x) => x.redisPerTopic!));
  rows.push({ name: 'scaling: Redis memory per topic a node follows (pub/sub channel)', bytes: null, hz: round(2 ** 30 / perTopic), vs: null, ratio: null, redisBytes: round(perTopic), runs: runs.redis.map((x) => round(x.redisPerTopic!)) });
}

// ---------------------------------------------------------------------------------------------------------
// 4: Redis memory per stream

/** A 45-character topic, as long as an inbox topic (docs/PROTOCOL.md §3.6). */
const inboxTopic = (prefix: string, i: number) => `${prefix.padEnd(22, 'x')}_${String(i).padStart(22, '0')}`;

async function streams(redis: RedisServer, rows: Row[]): Promise<void> {
  const cases = [
    { label: `${RETENTION_FRAMES} frames (full: the default retention)`, streams: FULL_STREAMS, frames: Math.round(RETENTION_FRAMES * 1.2) },
    { label: '1 frame', streams: SHORT_STREAMS, frames: 1 },
    { label: '4 frames (an idle inbox)', streams: SHORT_STREAMS, frames: 4 },
  ];
  const frame = new Uint8Array(FRAME_BYTES).fill(7);
  for (const c of cases) {
    await redis.flush();
    const engine = createRedisEngine({ url: redis.url });
    await engine.start({ publication: () => {}, availability: () => {} });
    try {
      const before = Number((await redis.info('memory')).get('used_memory'));
      // 100 topics at a time, each topic's frames in one go (the engine batches them, 128 per APPEND call).
      for (let s = 0; s < c.streams; s += 100) {
        const batch: Promise<unknown>[] = [];
        for (let t = s; t < Math.min(c.streams, s + 100); t++) for (let f = 0; f < c.frames; f++) batch.push(engine.publish(inboxTopic('stream', t), frame, 1));
        await Promise.all(batch);
      }
      const after = Number((await redis.info('memory')).get('used_memory'));
      let entries = 0;
      for (let t = 0; t < c.streams; t += Math.max(1, Math.floor(c.streams / 100))) entries += await redis.admin.xlen(`sealsig:s:{${inboxTopic('stream', t)}}`);
      const xlen = entries / Math.ceil(c.streams / Math.max(1, Math.floor(c.streams / 100)));
      const per = (after - before) / c.streams;
      rows.push({ name: `scaling: Redis memory per stream, ${c.label}`, bytes: FRAME_BYTES, hz: round(2 ** 30 / per), vs: null, ratio: null, redisBytes: round(per), xlen: round(xlen, 1), perEntry: round(per / xlen, 1), streams: c.streams });
      console.log(`Redis memory per stream, ${c.label}: ${per.toFixed(0)} B (${c.streams} streams, mean XLEN ${xlen.toFixed(1)}: ${(per / xlen).toFixed(1)} B per entry)`);
    } finally {
      await engine.close();
    }
  }
  await redis.flush();
}

// ---------------------------------------------------------------------------------------------------------
// 5: redis-server CPU per PUBLISH, by subscriber connections (one per node that follows the topic)

async function pubsub(redis: RedisServer, rows: Row[]): Promise<void> {
  const channels = Array.from({ length: 1000 }, (_, i) => `n:{${String(i).padStart(12, '0')}}`); // redis-benchmark's __rand_int__
  const n = 500_000; // long enough for a steady figure (about a quarter of a second of redis-server CPU)
  const results = new Map<number, number[]>();
  // A subscriber in this process reads more slowly than redis-benchmark publishes: with the default
  // pub/sub output buffer limit (32 MB) Redis disconnects it mid-run, and the CPU of the sends it never made
  // is missing from the figure. No limit here: every message is written, and counted before the CPU is read.
  const limits = (await redis.admin.config('GET', 'client-output-buffer-limit')) as string[];
  await redis.admin.config('SET', 'client-output-buffer-limit', 'pubsub 0 0 0');
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    for (const m of [0, 1, 4]) {
      const subs = Array.from({ length: m }, () => new Redis(redis.url));
      let received = 0;
      for (const s of subs) {
        s.on('messageBuffer', () => received++);
        await s.subscribe(...channels);
      }
      const cpu0 = redis.cpuMs();
      const child = spawn('redis-benchmark', ['-p', String(redis.port), '-P', '16', '-c', '4', '-n', String(n), '-r', '1000', 'PUBLISH', 'n:{__rand_int__}', 'x'.repeat(FRAME_BYTES)], { stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`redis-benchmark exited ${code}`);
      const deadline = Date.now() + 120_000;
      while (received < n * m && Date.now() < deadline) await sleep(10);
      if (received < n * m) throw new Error(`${received} of ${n * m} PUBLISH messages reached the subscribers`);
      const cpu = redis.cpuMs() - cpu0;
      for (const s of subs) s.disconnect();
      results.set(m, [...(results.get(m) ?? []), (cpu * 1000) / n]);
    }
  }
  await redis.admin.config('SET', 'client-output-buffer-limit', limits[1]!);
  for (const [m, xs] of results) {
    const us = median(xs);
    rows.push({ name: `scaling: redis-server CPU per PUBLISH, ${m} subscriber connections`, bytes: FRAME_BYTES, hz: round(1e6 / us), vs: null, ratio: null, us: round(us, 3), subscribers: m, runs: xs.map((x) => round(x, 3)) });
    console.log(`redis-server CPU per PUBLISH to ${m} subscriber connections: ${us.toFixed(2)} µs (runs ${xs.map((x) => x.toFixed(2)).join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  console.log(`\nsealsig scaling bench: node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}; relay in a fresh child per case, clients in another, redis-server local; CPU time, not wall clock`);
  const only = process.env.BENCH_SCALING_ONLY;
  const rows: Row[] = [];
  const redis = await startRedisServer();
  const clients = await Child.start(SCRIPT, ['--clients']);
  try {
    if (only === undefined || only === 'fanout') await fanout(clients, redis, rows);
    if (only === undefined || only === 'memory') await memory(clients, redis, rows);
    if (only === undefined || only === 'streams') await streams(redis, rows);
    if (only === undefined || only === 'pubsub') await pubsub(redis, rows);
  } finally {
    await clients.stop();
    await redis.stop();
  }
  if (only !== undefined) return;
  mergeRows((r) => r.name.startsWith('scaling: '), rows);
  console.log(`merged ${rows.length} scaling rows into ${LATEST} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (process.argv.includes('--clients')) await clientMain();
else if (process.argv.includes('--relay')) await relayChildMain(process.argv[process.argv.indexOf('--relay') + 1]);
else await main();
