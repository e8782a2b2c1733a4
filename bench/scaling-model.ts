/**
 * docs/SCALING.md's capacity model: the relay nodes and Redis shards a load needs, computed from the rows
 * bench/scaling.ts measured (bench/results/latest.json) and the assumptions below, rendered by bench/tables.ts
 * between the `<!-- table:scaling-… -->` markers of docs/SCALING.md. Change an assumption here and run
 * `pnpm bench:tables`; the document's prose names the same values.
 */
import { fmtRate, type Row } from './harness.js';

/** What the model assumes (docs/SCALING.md, "Assumptions"). */
export const ASSUMPTIONS = {
  /** Share of one core a relay node or a redis-server may use at the planned load. */
  headroom: 0.6,
  /** Memory a relay node may use for its connections (RSS), bytes. */
  nodeMemory: 2 * 2 ** 30,
  /** Redis used_memory one shard may hold (maxmemory), bytes. */
  shardMemory: 8 * 2 ** 30,
  /** Topics each connection subscribes to: its room's topic and its own inbox (docs/PROTOCOL.md §3.6). */
  topicsPerConnection: 2,
  /** Members per room: one room stream per this many connections, beside one inbox stream per connection. */
  roomSize: 10,
  /** Relay heartbeat: one ping and one pong per connection per this many ms (RelayOptions.heartbeatMs). */
  heartbeatMs: 30_000,
  /** A frame stays in its stream this long under steady traffic (maxAgeMs 60 s + the 1 s age-check interval). */
  retainedMs: 61_000,
  /** Fan-outs (deliveries per published frame) the model is computed for. */
  fanouts: [1, 9],
  connections: [10_000, 100_000, 1_000_000],
  framesPerSecond: [10_000, 100_000],
} as const;

const row = (rows: readonly Row[], name: string): Row | undefined => rows.find((r) => r.name === name);
const num = (r: Row | undefined, field: string): number => (r !== undefined && typeof r[field] === 'number' ? (r[field] as number) : NaN);

/** The measured figures the model uses, by name (NaN where bench/scaling.ts has not run). */
export function measured(rows: readonly Row[]) {
  const engine = (e: string) => ({
    perPublishUs: num(row(rows, `scaling: relay CPU per accepted PUBLISH (fan-out aside), ${e}`), 'us'),
    perDeliveryUs: num(row(rows, `scaling: relay CPU per delivery (each recipient), ${e}`), 'us'),
    connectionKib: num(row(rows, `scaling: relay memory per idle connection, ${e}`), 'rssKib'),
    subscriptionKib: num(row(rows, `scaling: relay memory per further subscribed topic, ${e}`), 'rssKib'),
  });
  const pub = (m: number) => num(row(rows, `scaling: redis-server CPU per PUBLISH, ${m} subscriber connections`), 'us');
  return {
    memory: engine('memory engine'),
    redis: engine('Redis engine'),
    /** redis-server CPU per appended frame at 1,000 rooms x 2 (batches of about 4 frames: the dearer shape). */
    redisPerFrameUs: num(row(rows, 'scaling: redis-server CPU per appended frame, 1000 rooms x 2 clients'), 'us'),
    /** redis-server CPU per further node that follows a topic, per notification. */
    redisPerSubscriberUs: (pub(4) - pub(1)) / 3,
    redisPublishUs: pub(0),
    /** Redis bytes: a short stream (an inbox with 4 frames), one entry of a full stream, one node-topic channel. */
    shortStreamBytes: num(row(rows, 'scaling: Redis memory per stream, 4 frames (an idle inbox)'), 'redisBytes'),
    entryBytes: num(row(rows, 'scaling: Redis memory per stream, 1000 frames (full: the default retention)'), 'perEntry'),
    channelBytes: num(row(rows, 'scaling: Redis memory per topic a node follows (pub/sub channel)'), 'redisBytes'),
  };
}

/** Expected distinct nodes among f recipients spread at random over n nodes. */
const nodesHit = (f: number, n: number) => n * (1 - (1 - 1 / n) ** f);

export interface Plan {
  connections: number;
  framesPerSecond: number;
  fanout: number;
  deliveries: number;
  nodesCpu: number;
  nodesMemory: number;
  nodes: number;
  shardsCpu: number;
  shardsMemory: number;
  shards: number;
  redisBytes: number;
}

/**
 * Nodes and shards for one load (Redis engine, docs/SCALING.md "The model"). A frame costs the relay
 * perPublishUs on the publisher's node and again on every other node holding a recipient (an upper bound:
 * the measured per-PUBLISH figure holds both the publishing and the notification's receiving side), and
 * perDeliveryUs per recipient; each connection costs a ping and a pong (two deliveries) per heartbeat.
 */
export function plan(rows: readonly Row[], connections: number, framesPerSecond: number, fanout: number): Plan {
  const m = measured(rows);
  const a = ASSUMPTIONS;
  const heartbeats = (connections * 2 * 1000) / a.heartbeatMs;
  const perConnection = (m.redis.connectionKib + (a.topicsPerConnection - 1) * m.redis.subscriptionKib) * 1024;
  const nodesMemory = Math.ceil((connections * perConnection) / a.nodeMemory);
  let nodes = Math.max(1, nodesMemory);
  let nodesCpu = 0;
  for (let i = 0; i < 20; i++) {
    const k = nodesHit(fanout, nodes);
    const cpuUs = framesPerSecond * (m.redis.perPublishUs * (1 + k) + m.redis.perDeliveryUs * fanout) + heartbeats * m.redis.perDeliveryUs;
    nodesCpu = Math.ceil(cpuUs / 1e6 / a.headroom);
    const next = Math.max(nodesMemory, nodesCpu, 1);
    if (next === nodes) break;
    nodes = next;
  }
  const k = nodesHit(fanout, nodes);
  const redisCpuUs = framesPerSecond * (m.redisPerFrameUs + Math.max(0, k - 1) * m.redisPerSubscriberUs);
  const shardsCpu = Math.ceil(redisCpuUs / 1e6 / a.headroom);
  const streams = connections + connections / a.roomSize;
  const entries = Math.min((framesPerSecond * a.retainedMs) / 1000, streams * 1000);
  const topicsFollowed = (connections / a.roomSize) * nodesHit(a.roomSize, nodes) + connections; // room topics on each node with a member, inboxes once
  const redisBytes = streams * m.shortStreamBytes + entries * m.entryBytes + topicsFollowed * m.channelBytes;
  const shardsMemory = Math.ceil(redisBytes / a.shardMemory);
  return { connections, framesPerSecond, fanout, deliveries: framesPerSecond * fanout, nodesCpu, nodesMemory, nodes, shardsCpu, shardsMemory, shards: Math.max(1, shardsCpu, shardsMemory), redisBytes };
}

function markdown(headers: string[], body: string[][], right: boolean[]): string {
  const rule = headers.map((_, i) => (right[i] ? '---:' : '---'));
  return [headers, rule, ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '?');
const fixed = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '?');
const gib = (x: number) => (Number.isFinite(x) ? `${(x / 2 ** 30).toFixed(x < 2 ** 30 ? 2 : 1)} GiB` : '?');

/** The measured rows of bench/scaling.ts, one line each. */
export function scalingMeasured(rows: readonly Row[]): string {
  const body: string[][] = [];
  for (const r of rows) {
    if (!r.name.startsWith('scaling: ')) continue;
    const name = r.name.slice('scaling: '.length);
    const runs = Array.isArray(r.runs) ? (r.runs as number[]).join(', ') : '';
    if (typeof r.us === 'number') body.push([name, `${fixed(r.us)} µs CPU`, typeof r.fanout === 'number' ? `fan-out ${r.fanout}; runs ${runs}` : runs]);
    else if (typeof r.rssKib === 'number') body.push([name, `${fixed(r.rssKib)} KiB RSS, ${fixed(r.heapKib as number)} KiB heap`, `${int(r.n as number)} connections${typeof r.bareRssKib === 'number' ? `; no subscription: ${fixed(r.bareRssKib)} KiB RSS, ${fixed(r.bareHeapKib as number)} KiB heap` : ''}; RSS runs ${runs}`]);
    else if (typeof r.redisBytes === 'number') body.push([name, `${int(r.redisBytes)} B`, typeof r.xlen === 'number' ? `${int(r.streams as number)} streams, mean XLEN ${r.xlen}: ${fixed(r.perEntry as number, 1)} B per entry` : `runs ${runs}`]);
  }
  return markdown(['measure', 'figure', 'detail'], body, [false, true, false]);
}

/** What one node (one relay process, about one core) holds, per engine. */
export function scalingNode(rows: readonly Row[]): string {
  const m = measured(rows);
  const a = ASSUMPTIONS;
  const body = (['memory', 'redis'] as const).map((e) => {
    const x = m[e];
    const perConnection = (x.connectionKib + (a.topicsPerConnection - 1) * x.subscriptionKib) * 1024;
    const perFrame = (f: number) => x.perPublishUs + f * x.perDeliveryUs;
    return [
      e === 'memory' ? 'memory engine (one node only)' : 'Redis engine',
      `${fixed(x.perPublishUs)} + ${fixed(x.perDeliveryUs)} x fan-out`,
      ...a.fanouts.map((f) => `${fmtRate((a.headroom * 1e6) / perFrame(f))} frames/s (${fmtRate((a.headroom * 1e6 * f) / perFrame(f))} deliveries/s)`),
      `${fixed(perConnection / 1024)} KiB: ${int(a.nodeMemory / perConnection)}`,
    ];
  });
  return markdown(['engine', 'relay CPU µs per frame', ...a.fanouts.map((f) => `at ${a.headroom * 100}% of a core, fan-out ${f}`), `memory per connection (${a.topicsPerConnection} topics): connections per ${gib(a.nodeMemory)}`], body, [false, true, ...a.fanouts.map(() => true), true]);
}

/** Nodes and shards for each load of ASSUMPTIONS. */
export function scalingModel(rows: readonly Row[]): string {
  const a = ASSUMPTIONS;
  const body: string[][] = [];
  for (const f of a.fanouts)
    for (const c of a.connections)
      for (const fps of a.framesPerSecond) {
        const p = plan(rows, c, fps, f);
        body.push([int(c), int(fps), String(f), int(p.deliveries), `**${p.nodes}**`, `${p.nodesCpu} / ${p.nodesMemory}`, `**${p.shards}**`, `${p.shardsCpu} / ${p.shardsMemory}`, gib(p.redisBytes)]);
      }
  return markdown(['connections', 'frames/s', 'fan-out', 'deliveries/s', 'relay nodes', 'by CPU / memory', 'Redis shards', 'by CPU / memory', 'Redis memory'], body, [true, true, true, true, true, true, true, true, true]);
}

export const SCALING_TABLES: Record<string, (rows: readonly Row[]) => string> = {
  'scaling-measured': scalingMeasured,
  'scaling-node': scalingNode,
  'scaling-model': scalingModel,
};
