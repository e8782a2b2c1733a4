/**
 * Keeping a benchmark process on one core (docs/BENCHMARKS.md, "Method"), so that "ops/s" is the throughput of
 * one core whatever runs on which thread. Used by bench/run.ts and bench/growth.ts.
 *
 * The package.json scripts also start them with V8's --single-threaded-gc: with every thread pinned to one
 * CPU, parallel GC helpers cannot run in parallel anyway, and when another process shares that CPU they spin
 * waiting for each other, which counts as CPU time (measured: the 200-byte pipeline's CPU time per message
 * tripled beside two busy loops; with the flag it stayed within the quiet run's spread).
 *
 *   BENCH_CPU=n   the CPU to pin to (default: the highest CPU this process may use)
 *   BENCH_PIN=0   do not pin (threads then float across cores)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The CPUs this process may run on, from /proc (Linux), or undefined. */
function allowedCpus(): number[] | undefined {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1];
    if (line === undefined) return undefined;
    const cpus: number[] = [];
    for (const part of line.trim().split(',')) {
      const [lo, hi] = part.split('-').map(Number);
      for (let c = lo!; c <= (hi ?? lo!); c++) cpus.push(c);
    }
    return cpus;
  } catch {
    return undefined;
  }
}

/**
 * Pins every thread of this process (the JS thread, V8's helper threads, libuv's thread pool, which runs
 * WebCrypto jobs) to one CPU. Threads created later inherit the affinity of the thread that creates them.
 * Returns a description for the report.
 */
export function pinToOneCpu(): string {
  if (process.env.BENCH_PIN === '0') return 'not pinned (BENCH_PIN=0): threads float across cores';
  const allowed = allowedCpus();
  const cpu = process.env.BENCH_CPU !== undefined ? Number(process.env.BENCH_CPU) : allowed?.at(-1);
  if (cpu === undefined || !Number.isInteger(cpu)) return 'not pinned: could not read the allowed CPUs (set BENCH_CPU)';
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  } catch {
    return `not pinned: "taskset -a -p -c ${cpu}" failed (is util-linux installed?)`;
  }
  const now = allowedCpus();
  return now !== undefined && now.length === 1 && now[0] === cpu ? `pinned to CPU ${cpu} (all threads)` : `pinning to CPU ${cpu} not confirmed`;
}

/** Whether V8's GC runs on the main thread only (the --single-threaded-gc flag), for the report. */
export function gcMode(): string {
  return process.execArgv.includes('--single-threaded-gc') ? 'single-threaded GC' : 'parallel GC (start node with --single-threaded-gc, as `pnpm bench` does)';
}
