/**
 * bench/results/latest.json: one JSON array of rows (docs/BENCHMARKS.md, "Reading latest.json"), written in
 * parts by several scripts (run.ts, relay.ts, growth.ts, load-check.ts). Each script replaces its own rows
 * and keeps everyone else's, so rerunning one part never loses the others.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './harness.js';
import { isGrowthRow, isRoomsGrowthRow } from './row-names.js';

export const LATEST = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');

export function readRows(file = LATEST): Row[] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Row[];
  } catch {
    return [];
  }
}

export function writeRows(rows: readonly Row[], file = LATEST): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(rows, null, 2) + '\n');
}

/**
 * Replaces the rows `isMine` selects with `mine`, in place: the new rows take the position of the first old
 * one (or go last), so the file's order stays stable from run to run.
 */
export function mergeRows(isMine: (r: Row) => boolean, mine: readonly Row[], file = LATEST): void {
  const existing = readRows(file);
  const at = existing.findIndex(isMine);
  const others = existing.filter((r) => !isMine(r));
  const position = at === -1 ? others.length : existing.slice(0, at).filter((r) => !isMine(r)).length;
  writeRows([...others.slice(0, position), ...mine, ...others.slice(position)], file);
}

/** A row of bench/growth.ts: one case at one member count. hz = runs per CPU-second (1000 / cpuMs). */
export interface GrowthRow extends Row {
  n: number;
  /** The protocol version the sessions spoke (core's PROTOCOL_VERSION): rows of each version are kept side by side. */
  protocol: number;
  /** Whether the run reached its end condition (false: it hit BENCH_GROWTH_TIMEOUT_S). */
  complete: boolean;
  frames: number;
  deliveries: number;
  bytesPublished: number;
  bytesDelivered: number;
  /** Frames published by frame kind (1 broadcast, 2 handshake init, 3 handshake response, 4 direct). */
  framesByKind: Record<string, number>;
  /** Handshake inits published (frames of kind 2), and per unordered pair of members. */
  inits: number;
  initsPerPair: number;
  cpuMs: number;
  cpuMsPerMember: number;
  wallMs: number;
  signs: number;
  verifies: number;
  ed25519KeyPairs: number;
  x25519: number;
  x25519KeyPairs: number;
  /** The operation counts times their unit costs (the growth unit cost rows of the same run), in ms. */
  floorMs: number;
  cpuOverFloor: number;
  /**
   * The ideal floor of the join cases (issue 17): n signatures and n(n-1) verifications, the least that
   * authenticates every member to every other, at the same unit costs, in ms; and CPU over it. Absent for the
   * other cases and in rows measured before it existed.
   */
  idealFloorMs?: number;
  cpuOverIdeal?: number;
  /** The unit costs used for floorMs: CPU µs per operation, the mean of measurements right before and after the case. */
  unitUs: Record<string, number>;
  /** The largest relative change of a unit cost between those two measurements. */
  unitDrift: number;
}

export const isGrowthCaseRow = (r: Row): r is GrowthRow => isGrowthRow(r.name) && typeof (r as Partial<GrowthRow>).n === 'number';

/**
 * A row of bench/rooms-growth.ts: one case (the fill, the kick) at one member count n, the moderator included.
 * hz = runs per CPU-second (1000 / cpuMs).
 */
export interface RoomsGrowthRow extends Row {
  /** The column the row belongs to: BENCH_ROOMS_LABEL, or rooms@<commit>. Rows of each label are kept side by side. */
  label: string;
  /** The commit measured (short hash; "+" when packages/ had uncommitted changes). */
  commit: string;
  n: number;
  /** Whether the run reached its end condition (false: it hit BENCH_ROOMS_TIMEOUT_S). */
  complete: boolean;
  frames: number;
  deliveries: number;
  bytesPublished: number;
  bytesDelivered: number;
  /** Frames published by frame kind (1 broadcast, 2 handshake init, 3 handshake response, 4 direct). */
  framesByKind: Record<string, number>;
  /** Handshake inits published (frames of kind 2). */
  inits: number;
  /** process.cpuUsage around the case: every member together (they all run in this process). */
  cpuMs: number;
  cpuMsPerMember: number;
  wallMs: number;
  signs: number;
  verifies: number;
  /** X25519 operations and key pairs. */
  x25519: number;
}

export const isRoomsGrowthCaseRow = (r: Row): r is RoomsGrowthRow => isRoomsGrowthRow(r.name) && typeof (r as Partial<RoomsGrowthRow>).n === 'number';
