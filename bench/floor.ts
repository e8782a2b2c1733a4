/**
 * The floor of a growth run (docs/BENCHMARKS.md, "Growth"): the public-key operations the run needed, counted
 * by packages/core/src/sodium.ts, times their unit costs measured in the same process (bench/growth.ts measures
 * them right before and right after each case). Everything else a
 * member does (AEAD, hashing, encoding, bookkeeping) is cheap next to these, so CPU / floor says how much of
 * the CPU time went to something other than the unavoidable public-key work.
 */
import {
  ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  publicKeyOps,
  randomBytes,
  resetPublicKeyOps,
  x25519,
  x25519KeyPair,
} from '../packages/core/src/sodium.js';
import { cpuNowMs, median } from './harness.js';

export type OpCounts = typeof publicKeyOps;
/** CPU microseconds per operation, for each counted kind. */
export type UnitCosts = OpCounts;

let sink = 0;

/** CPU µs per call of `op`: the median of 5 batches of about 20 ms, after calibration (which warms it up). */
function unitCost(op: () => void): number {
  let n = 16;
  for (;;) {
    const t0 = cpuNowMs();
    for (let i = 0; i < n; i++) op();
    if (cpuNowMs() - t0 >= 20) break;
    n *= 2;
  }
  const samples: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t0 = cpuNowMs();
    for (let i = 0; i < n; i++) op();
    samples.push(((cpuNowMs() - t0) * 1000) / n);
  }
  return median(samples);
}

/**
 * Measures the unit costs in this process (libsodium must be ready). Messages are 200 bytes, about what a
 * hello's signature covers (context, header, content); Ed25519's cost hardly depends on the length there.
 */
export function measureUnitCosts(): UnitCosts {
  const message = randomBytes(200);
  const signing = ed25519KeyPair();
  const signature = ed25519Sign(signing.privateKey, message);
  const a = x25519KeyPair();
  const b = x25519KeyPair();
  const costs: UnitCosts = {
    ed25519Sign: unitCost(() => (sink += ed25519Sign(signing.privateKey, message)[0]!)),
    ed25519Verify: unitCost(() => (sink += ed25519Verify(signing.publicKey, message, signature) ? 1 : 0)),
    ed25519KeyPair: unitCost(() => (sink += ed25519KeyPair().publicKey[0]!)),
    x25519: unitCost(() => (sink += x25519(a.privateKey, b.publicKey)[0]!)),
    x25519KeyPair: unitCost(() => (sink += x25519KeyPair().publicKey[0]!)),
  };
  resetPublicKeyOps();
  return costs;
}

/** The mean of two measurements of the unit costs. */
export function meanCosts(a: UnitCosts, b: UnitCosts): UnitCosts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof UnitCosts)[]) out[k] = (a[k] + b[k]) / 2;
  return out;
}

/** The largest relative change of a unit cost between two measurements (how much the machine's speed moved). */
export function costDrift(a: UnitCosts, b: UnitCosts): number {
  return Math.max(...(Object.keys(a) as (keyof UnitCosts)[]).map((k) => Math.abs(b[k] / a[k] - 1)));
}

/** The counts since the last reset, and a reset. */
export function takeCounts(): OpCounts {
  const counts = { ...publicKeyOps };
  resetPublicKeyOps();
  return counts;
}

/** Σ count x unit cost, in milliseconds. */
export function floorMs(counts: OpCounts, costs: UnitCosts): number {
  let us = 0;
  for (const k of Object.keys(counts) as (keyof OpCounts)[]) us += counts[k] * costs[k];
  return us / 1000;
}

export function floorSink(): number {
  return sink;
}
