/**
 * The targets of docs/BENCHMARKS.md, checked against rows of bench/results/latest.json. The scripts print
 * them after a run; bench/tables.ts renders the same checks into the document.
 */
import { fmtRate, type Row } from './harness.js';
import { isGrowthCaseRow, isRoomsGrowthCaseRow, type GrowthRow, type RoomsGrowthRow } from './results-file.js';
import { GROWTH_JOIN_AT_ONCE, GROWTH_JOIN_ONE_BY_ONE, GROWTH_MESH, PIPELINE, PIPELINE_VS_WEBCRYPTO, ROOMS_GROWTH_FILL, ROOMS_GROWTH_KICK } from './row-names.js';

export interface Check {
  target: string;
  /** The measured figure, as shown. */
  value: string;
  /** null: not measured in this run. */
  met: boolean | null;
  /** A figure reported beside the targets with no target of its own (shown as "no target"). */
  noTarget?: true;
}

const find = (rows: readonly Row[], name: string, bytes: number | null) => rows.find((r) => r.name === name && r.bytes === bytes);

/** The pipeline targets (issue 3): throughput from wall time, ratios from CPU time. */
export function pipelineTargets(rows: readonly Row[]): Check[] {
  const checks: Check[] = [];
  const p200 = find(rows, PIPELINE, 200);
  const p4k = find(rows, PIPELINE, 4096);
  checks.push({ target: 'pairwise pipeline ≥ 45,000 msgs/s at 200 B', value: p200 ? `${fmtRate(p200.hz)} msgs/s` : '-', met: p200 ? p200.hz >= 45_000 : null });
  checks.push({ target: 'pairwise pipeline ≥ 20,000 msgs/s at 4 KiB', value: p4k ? `${fmtRate(p4k.hz)} msgs/s` : '-', met: p4k ? p4k.hz >= 20_000 : null });
  for (const bytes of [200, 4096]) {
    const w = find(rows, PIPELINE_VS_WEBCRYPTO, bytes);
    const ratio = w?.ratio ?? null;
    checks.push({ target: `pairwise pipeline ≥ 10x the WebCrypto baseline at ${bytes} B`, value: ratio === null ? '-' : `${ratio.toFixed(2)}x`, met: ratio === null ? null : ratio >= 10 });
  }
  const r4k = p4k?.ratio ?? null;
  checks.push({
    target: 'pairwise pipeline within 1.5x of the bare AEAD at 4 KiB (ratio ≥ 0.667)',
    value: r4k === null ? '-' : `ratio ${r4k.toFixed(3)}`,
    met: r4k === null ? null : r4k >= 1 / 1.5,
  });
  return checks;
}

/** The protocol versions of the growth rows, lowest first. */
export function growthProtocols(rows: readonly Row[]): number[] {
  return [...new Set(rows.filter(isGrowthCaseRow).map((r) => r.protocol))].sort((a, b) => a - b);
}

/** The growth targets of issue 9, at 64 members, for the rows of one protocol version (default: the highest). */
export function growthTargets(rows: readonly Row[], protocol = growthProtocols(rows).at(-1)): Check[] {
  const growth = rows.filter(isGrowthCaseRow).filter((r) => r.protocol === protocol);
  const at = (name: string, n: number): GrowthRow | undefined => growth.find((r) => r.name === name && r.n === n && r.complete);
  const join64 = at(GROWTH_JOIN_AT_ONCE, 64);
  const join32 = at(GROWTH_JOIN_AT_ONCE, 32);
  const mesh64 = at(GROWTH_MESH, 64);
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const checks: Check[] = [];
  checks.push({
    target: '64 joining at once: deliveries ≤ 3 x 64² (12,288)',
    value: join64 ? n(join64.deliveries) : '-',
    met: join64 ? join64.deliveries <= 3 * 64 * 64 : null,
  });
  checks.push({
    target: '64 joining at once: CPU within 1.5x of the floor',
    value: join64 ? `${join64.cpuOverFloor.toFixed(2)}x (${n(join64.cpuMs)} ms / ${n(join64.floorMs)} ms)` : '-',
    met: join64 ? join64.cpuOverFloor <= 1.5 : null,
  });
  const growthRatio = join64 && join32 ? join64.cpuMs / join32.cpuMs : null;
  checks.push({
    target: 'joining at once: CPU(64) / CPU(32) ≤ 5',
    value: growthRatio === null ? '-' : `${growthRatio.toFixed(2)}`,
    met: growthRatio === null ? null : growthRatio <= 5,
  });
  // Issue 17: a join signs and verifies what it must (the ideal floor: n signs and n(n-1) verifies).
  for (const size of [128, 256]) {
    const r = at(GROWTH_JOIN_AT_ONCE, size);
    const pairs = size * (size - 1);
    checks.push({
      target: `${size} joining at once: signatures ≤ 2n (${n(2 * size)})`,
      value: r ? n(r.signs) : 'not run (BENCH_GROWTH_N)',
      met: r ? r.signs <= 2 * size : null,
    });
    checks.push({
      target: `${size} joining at once: verifications ≤ 1.25 n(n-1) (${n(1.25 * pairs)})`,
      value: r ? n(r.verifies) : 'not run (BENCH_GROWTH_N)',
      met: r ? r.verifies <= 1.25 * pairs : null,
    });
    checks.push({
      target: `${size} joining at once: CPU ≤ 2.0x the ideal floor`,
      value: r?.cpuOverIdeal !== undefined ? `${r.cpuOverIdeal.toFixed(2)}x (${n(r.cpuMs)} ms / ${n(r.idealFloorMs!)} ms)` : 'not run (BENCH_GROWTH_N)',
      met: r?.cpuOverIdeal !== undefined ? r.cpuOverIdeal <= 2.0 : null,
    });
    const one = at(GROWTH_JOIN_ONE_BY_ONE, size);
    checks.push({
      target: `${size} joining one by one: signatures ≤ 2n (${n(2 * size)})`,
      value: one ? n(one.signs) : 'not run (BENCH_GROWTH_N)',
      met: one ? one.signs <= 2 * size : null,
    });
  }
  checks.push({
    target: 'mesh of 64: bytes delivered ≤ 1.1 x bytes published',
    value: mesh64 ? `${(mesh64.bytesDelivered / mesh64.bytesPublished).toFixed(2)}x` : '-',
    met: mesh64 ? mesh64.bytesDelivered <= 1.1 * mesh64.bytesPublished : null,
  });
  checks.push({
    target: 'mesh of 64: handshake inits per pair ≤ 1.05',
    value: mesh64 ? mesh64.initsPerPair.toFixed(3) : '-',
    met: mesh64 ? mesh64.initsPerPair <= 1.05 : null,
  });
  return checks;
}

/** The labels of the rooms growth rows, in the order they first appear (the order they were first measured). */
export function roomsGrowthLabels(rows: readonly Row[]): string[] {
  return [...new Set(rows.filter(isRoomsGrowthCaseRow).map((r) => r.label))];
}

/** Issue 10's byte budget for filling a room to 64 members: 4 MB (decimal: 4,000,000 bytes). */
export const ROOMS_FILL_64_BYTES = 4_000_000;

/**
 * The rooms growth targets of issue 10 ("Linear cost per member") for the rows of one label (default: the one
 * measured last). Targets at 256 members are "not run" unless a 256-member run is in the rows.
 */
export function roomsGrowthTargets(rows: readonly Row[], label = roomsGrowthLabels(rows).at(-1)): Check[] {
  const mine = rows.filter(isRoomsGrowthCaseRow).filter((r) => r.label === label);
  const at = (name: string, n: number): RoomsGrowthRow | undefined => mine.find((r) => r.name === name && r.n === n && r.complete);
  const fill64 = at(ROOMS_GROWTH_FILL, 64);
  const fill256 = at(ROOMS_GROWTH_FILL, 256);
  const kick256 = at(ROOMS_GROWTH_KICK, 256);
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const mb = (x: number) => `${(x / 1e6).toFixed(x < 1e7 ? 2 : 1)} MB`;
  const notRun = (what: string) => `not run (${what})`;
  const bytesRatio = fill64 && fill256 ? fill256.bytesDelivered / fill64.bytesDelivered : null;
  return [
    {
      target: 'filling a room to 64: bytes delivered ≤ 4 MB',
      value: fill64 ? `${mb(fill64.bytesDelivered)} (${n(fill64.bytesDelivered)} B)` : notRun('n = 64'),
      met: fill64 ? fill64.bytesDelivered <= ROOMS_FILL_64_BYTES : null,
    },
    {
      target: 'filling a room to 64: CPU ≤ 3 s, all members together',
      value: fill64 ? `${n(fill64.cpuMs)} ms` : notRun('n = 64'),
      met: fill64 ? fill64.cpuMs <= 3_000 : null,
    },
    {
      target: 'bytes delivered filling to 256 ≤ 20 x filling to 64 (O(n) per join: 16x, O(n²): 64x)',
      value: bytesRatio === null ? notRun(fill64 ? 'n = 256' : 'n = 64 and 256') : `${bytesRatio.toFixed(1)}x`,
      met: bytesRatio === null ? null : bytesRatio <= 20,
    },
    {
      target: 'a kick in a room of 256: deliveries ≤ 4n (1,024)',
      value: kick256 ? n(kick256.deliveries) : notRun('n = 256'),
      met: kick256 ? kick256.deliveries <= 4 * 256 : null,
    },
    {
      // CPU, not wall time: on a shared machine wall time also counts the waits for other processes. The CPU of
      // all members together bounds the work on the kick's critical path; the wall time is shown beside it.
      target: 'a kick in a room of 256: < 1 s (CPU of all members until every one is at the new epoch)',
      value: kick256 ? `${n(kick256.cpuMs)} ms (wall ${n(kick256.wallMs)} ms)` : notRun('n = 256'),
      met: kick256 ? kick256.cpuMs < 1_000 : null,
    },
  ];
}

export function metLabel(met: boolean | null, noTarget?: boolean): string {
  return noTarget === true ? 'no target (reported)' : met === null ? 'not measured' : met ? 'met' : 'not met';
}

export function printChecks(checks: readonly Check[]): void {
  for (const c of checks) console.log(`  [${c.noTarget === true ? 'INFO' : c.met === null ? '----' : c.met ? 'MET ' : 'MISS'}] ${c.target}: ${c.value}`);
}

/**
 * The fan-out targets, as a ratio to bare `ws`, by case: issue 11's for the relay on its memory engine, issue
 * 18's for the Redis engine (one node on a local redis-server), the same figures. Both are checked on both
 * measures (wall clock, and per relay CPU-second); the Redis engine also per relay + redis-server
 * CPU-second (REDIS_TOTAL_CPU_TARGET).
 */
export const RELAY_FANOUT_TARGETS: Readonly<Record<string, number>> = { '1 room x 100 clients': 0.8, '1000 rooms x 2 clients': 0.7 };
/** Issue 18: Redis engine fan-out per relay + redis-server CPU-second, ratio to bare `ws` per server CPU-second. */
export const REDIS_TOTAL_CPU_TARGET = 0.5;
/** Issue 18: the Redis engine's p99 latency at 5,000 deliveries/s, at most this times the memory engine's. */
export const REDIS_P99_TARGET = 1.3;
/** Issue 18: redis-server CPU per frame the engine appends, at most this times a pipelined XADD's. */
export const REDIS_XADD_TARGET = 3;

/**
 * The relay targets (bench/relay.ts): fan-out (above), p99 latency added by the relay < 5 ms, ≤ 20 KiB per
 * idle connection; for the Redis engine, p99 and Redis CPU per frame (above).
 */
export function relayTargets(rows: readonly Row[]): Check[] {
  const checks: Check[] = [];
  for (const r of rows) {
    const fanout = /^relay fan-out(?: per relay (\+ redis-server )?CPU-second)?, (memory|Redis) engine, (.+)$/.exec(r.name);
    if (fanout !== null && r.ratio !== null) {
      const target = fanout[1] !== undefined ? REDIS_TOTAL_CPU_TARGET : RELAY_FANOUT_TARGETS[fanout[3]!];
      if (target !== undefined) checks.push({ target: `${r.name}: ≥ ${target} of bare \`ws\``, value: r.ratio.toFixed(2), met: r.ratio >= target });
      else checks.push({ target: `${r.name}: ratio to bare \`ws\``, value: r.ratio.toFixed(2), met: null, noTarget: true });
    }
    if (/^relay latency p99 @ 5k deliveries\/s, Redis engine$/.test(r.name) && r.ratio !== null) {
      checks.push({ target: `${r.name}: ≤ ${REDIS_P99_TARGET} x the memory engine's`, value: `${r.ratio.toFixed(2)} (${String(r.ms)} ms)`, met: r.ratio <= REDIS_P99_TARGET });
    }
    if (/^relay Redis engine: redis-server CPU per appended frame/.test(r.name) && r.ratio !== null) {
      checks.push({ target: `${r.name}: ≤ ${REDIS_XADD_TARGET} x a pipelined XADD's`, value: `${r.ratio.toFixed(2)} (${String(r.us)} µs)`, met: r.ratio <= REDIS_XADD_TARGET });
    }
    if (/^relay latency p99/.test(r.name) && typeof r.addedMs === 'number') {
      checks.push({ target: `${r.name}: added to bare \`ws\`'s < 5 ms`, value: `${r.addedMs.toFixed(3)} ms`, met: r.addedMs < 5 });
    }
    if (/^relay idle connections/.test(r.name) && typeof r.kib === 'number') {
      checks.push({ target: `${r.name}: ≤ 20 KiB per connection`, value: `${r.kib} KiB`, met: r.kib <= 20 });
    }
  }
  return checks;
}
