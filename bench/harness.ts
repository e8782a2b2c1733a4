/**
 * A small, dependency-free benchmark harness.
 *
 * Method (docs/BENCHMARKS.md): every case is calibrated to a batch of about `batchMs`, warmed up, then run
 * once per round for `rounds` rounds. Within a round the cases run in a freshly shuffled order (seeded), so
 * a burst of machine noise, a GC, or a thermal change lands on all cases alike rather than on whichever
 * case happens to run at that moment. Each batch gives one ops/s sample; a case's figure is the MEDIAN of
 * its samples. Everything runs serially on the one JS thread of one process.
 *
 * Each batch records two times: wall time (performance.now) and the process's CPU time (process.cpuUsage,
 * user + system, every thread). ops/s from wall time (`hz`) is what one core delivers when nothing else runs;
 * ops/s from CPU time (`cpuHz`) does not count the time the process waited while other processes ran, so
 * ratios between cases are computed from it: they stay put on a busy machine (docs/BENCHMARKS.md, "Busy machine").
 *
 * There are no timed assertions here: the harness measures and reports, nothing fails on a slow machine.
 */
import { performance } from 'node:perf_hooks';

export interface Case {
  /** Row name in the results (with `bytes`, identifies the row). */
  name: string;
  /** Payload size in bytes, or null when the case has none (joins, handshakes). */
  bytes: number | null;
  /**
   * Runs n operations. Returns nothing (the batch's wall and CPU time are used) or the times that count
   * (for cases that must exclude a per-op teardown from the timing; see Stopwatch).
   */
  run(n: number): void | Timed | Promise<void | Timed>;
}

/** Elapsed wall-clock and CPU milliseconds. */
export interface Timed {
  ms: number;
  cpuMs: number;
}

/** Milliseconds of CPU time this process has used so far: user + system, all its threads. */
export function cpuNowMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Sums wall and CPU time over the timed parts of a batch: start() ... stop(), repeatedly. */
export class Stopwatch implements Timed {
  ms = 0;
  cpuMs = 0;
  #wall0 = 0;
  #cpu0 = 0;
  start(): void {
    this.#wall0 = performance.now();
    this.#cpu0 = cpuNowMs();
  }
  stop(): void {
    this.cpuMs += cpuNowMs() - this.#cpu0;
    this.ms += performance.now() - this.#wall0;
  }
}

export interface CaseResult {
  name: string;
  bytes: number | null;
  /** Median ops/s over the rounds, from wall time. */
  hz: number;
  min: number;
  max: number;
  samples: number[];
  /** Median ops/s over the rounds, from CPU time. */
  cpuHz: number;
  cpuMin: number;
  cpuMax: number;
  cpuSamples: number[];
  /** Operations per batch after calibration. */
  opsPerBatch: number;
}

export interface HarnessOptions {
  rounds: number;
  batchMs: number;
  /** Wall time spent warming up each case (after a first calibration). */
  warmupMs: number;
  seed: number;
  log?: (line: string) => void;
}

/** Times one batch of n ops: wall and CPU milliseconds. */
async function timeBatch(c: Case, n: number): Promise<Timed> {
  const whole = new Stopwatch();
  whole.start();
  const r = c.run(n);
  const awaited = r instanceof Promise ? await r : r;
  whole.stop();
  return awaited ?? whole;
}

/** The op count whose batch takes about targetMs (at least 1). */
async function calibrate(c: Case, targetMs: number): Promise<number> {
  let n = 1;
  for (;;) {
    const { ms } = await timeBatch(c, n);
    if (ms >= targetMs / 5 || n >= 1 << 24) return Math.max(1, Math.round((n * targetMs) / Math.max(ms, 1e-3)));
    n *= ms <= 0 ? 16 : Math.min(16, Math.max(2, Math.ceil(targetMs / 5 / ms)));
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** x rounded to `digits` decimals (for latest.json). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** mulberry32: a tiny seeded PRNG, so the interleaving order is reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export async function runInterleaved(cases: readonly Case[], opt: HarnessOptions): Promise<CaseResult[]> {
  const log = opt.log ?? (() => {});
  const ops = new Map<Case, number>();
  const samples = new Map<Case, number[]>();
  const cpuSamples = new Map<Case, number[]>();

  // Warm-up: a first calibration (which also triggers JIT tiers), then about warmupMs of batches, then a
  // final calibration at the warmed-up speed.
  for (const c of cases) {
    const t0 = performance.now();
    let n = await calibrate(c, opt.batchMs);
    while (performance.now() - t0 < opt.warmupMs) await timeBatch(c, n);
    n = await calibrate(c, opt.batchMs);
    ops.set(c, n);
    samples.set(c, []);
    cpuSamples.set(c, []);
    log(`  warmed up ${label(c)}: ${n} ops/batch`);
  }

  const rand = prng(opt.seed);
  for (let round = 0; round < opt.rounds; round++) {
    for (const c of shuffled(cases, rand)) {
      const n = ops.get(c)!;
      const { ms, cpuMs } = await timeBatch(c, n);
      samples.get(c)!.push((n * 1000) / ms);
      cpuSamples.get(c)!.push((n * 1000) / Math.max(cpuMs, 1e-3));
    }
    log(`  round ${round + 1}/${opt.rounds} done`);
  }

  return cases.map((c) => {
    const s = samples.get(c)!;
    const cs = cpuSamples.get(c)!;
    return {
      name: c.name,
      bytes: c.bytes,
      hz: median(s),
      min: Math.min(...s),
      max: Math.max(...s),
      samples: s,
      cpuHz: median(cs),
      cpuMin: Math.min(...cs),
      cpuMax: Math.max(...cs),
      cpuSamples: cs,
      opsPerBatch: ops.get(c)!,
    };
  });
}

export function label(c: { name: string; bytes: number | null }): string {
  return c.bytes === null ? c.name : `${c.name} [${c.bytes} B]`;
}

/** Formats rows as a fixed-width text table. */
export function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * One row of bench/results/latest.json (docs/BENCHMARKS.md, "Reading latest.json"): hz = median ops/s from
 * wall time; cpuHz = median ops/s from CPU time (harness rows); ratio = cpuHz / cpuHz of `vs`.
 */
export interface Row {
  name: string;
  bytes: number | null;
  hz: number;
  cpuHz?: number;
  vs: string | null;
  ratio: number | null;
  /** Case-specific figures beside the rate (the relay rows' serverCpu, ms, kib...). */
  [extra: string]: unknown;
}

/** A rate for tables: thousands separators from 100 up, one decimal below. */
export function fmtRate(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

/** Microseconds per op of a rate of `hz` ops/s: two decimals below 10, one below 100, whole above. */
export function fmtMicros(hz: number): string {
  const us = 1e6 / hz;
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : Math.round(us).toLocaleString('en-US');
}
