/**
 * `pnpm bench:load`: are the ratios of bench/run.ts trustworthy on a busy machine? Runs bench/run.ts in child
 * processes, alternately on the machine as it is ("quiet") and beside two busy-loop processes
 * (`node -e 'for(;;){}'`, started and stopped here): quiet, loaded, quiet, loaded. Each ratio's quiet and
 * loaded figures are the geometric means over their runs, so a slow drift of the machine's speed falls on both
 * alike and one unlucky median weighs half. Compares every ratio: from CPU time (what latest.json reports) and
 * from wall time (what it reported before). Merges one row per ratio into bench/results/latest.json
 * ("load check: ..."); docs/BENCHMARKS.md, "Busy machine", shows them.
 *
 * Knobs: BENCH_LOAD_PAIRS (quiet + loaded pairs, default 2); BENCH_ROUNDS (default 11 here) and the other knobs
 * of bench/run.ts pass through. About four times as long as bench/run.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round, table, type Row } from './harness.js';
import { mergeRows, readRows } from './results-file.js';
import { LOAD_PREFIX, isLoadCheckRow } from './row-names.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUSY_LOOPS = 2;
const PAIRS = Number(process.env.BENCH_LOAD_PAIRS ?? 2);
/** The acceptance bound of issue 9: a loaded run's ratios within 15% of a quiet run's. */
const BOUND = 0.15;

/** Runs bench/run.ts with its rows written to `out`; resolves with them. */
function runBench(out: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--single-threaded-gc', '--conditions=source', '--import', 'tsx', 'bench/run.ts'], {
      cwd: ROOT,
      env: { BENCH_ROUNDS: '11', ...process.env, BENCH_OUT: out },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(readRows(out)) : reject(new Error(`bench/run.ts exited with ${code}`))));
  });
}

function busyLoop(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
}

/** Runs bench/run.ts with BUSY_LOOPS busy loops beside it. */
async function runLoaded(out: string): Promise<Row[]> {
  const loops = Array.from({ length: BUSY_LOOPS }, busyLoop);
  try {
    return await runBench(out);
  } finally {
    for (const c of loops) c.kill();
  }
}

const geomean = (xs: readonly number[]) => Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length);

/** A ratio row's ratio in each run: from CPU time (its `ratio`) and from wall time (hz / hz(vs)). */
function ratios(runs: readonly Row[][], name: string, bytes: number | null): { cpu: number[]; wall: number[] } {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (const rows of runs) {
    const r = rows.find((x) => x.name === name && x.bytes === bytes);
    const base = rows.find((x) => x.name === r?.vs && x.bytes === bytes);
    if (r?.ratio == null || base === undefined) continue;
    cpu.push(r.ratio);
    wall.push(r.hz / base.hz);
  }
  return { cpu, wall };
}

async function main(): Promise<void> {
  if (!(Number.isInteger(PAIRS) && PAIRS >= 1)) throw new Error('BENCH_LOAD_PAIRS: an integer >= 1');
  const dir = mkdtempSync(join(os.tmpdir(), 'sealsig-load-'));
  try {
    const quiet: Row[][] = [];
    const loaded: Row[][] = [];
    for (let i = 1; i <= PAIRS; i++) {
      console.log(`== quiet run ${i} of ${PAIRS} ==`);
      quiet.push(await runBench(join(dir, `quiet-${i}.json`)));
      console.log(`\n== loaded run ${i} of ${PAIRS}: ${BUSY_LOOPS} busy loops beside it ==`);
      loaded.push(await runLoaded(join(dir, `loaded-${i}.json`)));
    }

    const rows: Row[] = [];
    for (const q of quiet[0]!) {
      if (q.vs === null || q.ratio === null) continue;
      const qr = ratios(quiet, q.name, q.bytes);
      const lr = ratios(loaded, q.name, q.bytes);
      if (qr.cpu.length !== PAIRS || lr.cpu.length !== PAIRS) continue;
      rows.push({
        name: `${LOAD_PREFIX}${q.name}`,
        bytes: q.bytes,
        hz: geomean(loaded.map((rs) => rs.find((x) => x.name === q.name && x.bytes === q.bytes)!.hz)),
        vs: q.vs,
        ratio: round(geomean(lr.cpu), 4),
        quietRatio: round(geomean(qr.cpu), 4),
        loadedRatio: round(geomean(lr.cpu), 4),
        quietWallRatio: round(geomean(qr.wall), 4),
        loadedWallRatio: round(geomean(lr.wall), 4),
        quietRatios: qr.cpu,
        loadedRatios: lr.cpu,
      });
    }
    for (const r of rows) r.hz = round(r.hz);

    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const body = rows.map((r) => {
      const cpu = (r.loadedRatio as number) / (r.quietRatio as number) - 1;
      const wall = (r.loadedWallRatio as number) / (r.quietWallRatio as number) - 1;
      return [r.name.slice(LOAD_PREFIX.length), String(r.bytes ?? '-'), String(r.quietRatio), String(r.loadedRatio), pct(cpu), pct(wall)];
    });
    console.log('');
    console.log(table(['ratio row', 'bytes', 'quiet', 'loaded', 'change (CPU)', 'change (wall)'], body, [false, true, true, true, true, true]));
    const worst = Math.max(...rows.map((r) => Math.abs((r.loadedRatio as number) / (r.quietRatio as number) - 1)));
    console.log(`\nlargest change of a CPU-time ratio: ${pct(worst)} (bound ${pct(BOUND)}: ${worst <= BOUND ? 'met' : 'not met'})`);

    mergeRows((r) => isLoadCheckRow(r.name), rows);
    console.log(`merged ${rows.length} load-check rows into bench/results/latest.json`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
