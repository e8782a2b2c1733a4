/**
 * `pnpm bench:load`: are the ratios of bench/run.ts trustworthy on a busy machine? Runs bench/run.ts twice in
 * child processes, first on the machine as it is, then beside two busy-loop processes (`node -e 'for(;;){}'`,
 * started and stopped here), and compares every ratio of the two runs: from CPU time (what latest.json
 * reports) and from wall time (what it reported before). Merges one row per ratio into
 * bench/results/latest.json ("load check: ..."); docs/BENCHMARKS.md, "Busy machine", shows them.
 *
 * About twice as long as bench/run.ts. BENCH_ROUNDS and the other knobs of bench/run.ts pass through.
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
/** The acceptance bound of issue 9: a loaded run's ratios within 15% of a quiet run's. */
const BOUND = 0.15;

/** Runs bench/run.ts with its rows written to `out`; resolves with them. */
function runBench(out: string): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'bench/run.ts'], {
      cwd: ROOT,
      env: { ...process.env, BENCH_OUT: out },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(readRows(out)) : reject(new Error(`bench/run.ts exited with ${code}`))));
  });
}

function busyLoop(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
}

/** hz / hz(vs): the ratio as wall time gives it. */
function wallRatio(rows: readonly Row[], r: Row): number {
  const base = rows.find((b) => b.name === r.vs && b.bytes === r.bytes)!;
  return r.hz / base.hz;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'sealsig-load-'));
  try {
    console.log('== quiet run ==');
    const quiet = await runBench(join(dir, 'quiet.json'));
    console.log(`\n== loaded run: ${BUSY_LOOPS} busy loops beside it ==`);
    const loops = Array.from({ length: BUSY_LOOPS }, busyLoop);
    let loaded: Row[];
    try {
      loaded = await runBench(join(dir, 'loaded.json'));
    } finally {
      for (const c of loops) c.kill();
    }

    const rows: Row[] = [];
    for (const q of quiet) {
      const l = loaded.find((x) => x.name === q.name && x.bytes === q.bytes);
      if (q.vs === null || q.ratio === null || l === undefined || l.ratio === null) continue;
      rows.push({
        name: `${LOAD_PREFIX}${q.name}`,
        bytes: q.bytes,
        hz: l.hz,
        cpuHz: l.cpuHz,
        vs: q.vs,
        ratio: l.ratio,
        quietRatio: q.ratio,
        loadedRatio: l.ratio,
        quietWallRatio: round(wallRatio(quiet, q), 4),
        loadedWallRatio: round(wallRatio(loaded, l), 4),
      });
    }

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
