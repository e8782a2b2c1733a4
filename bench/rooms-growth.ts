/**
 * `pnpm bench` (after bench/growth.ts), or `pnpm bench:rooms-growth` alone: how the cost of a room grows with
 * its member count (docs/BENCHMARKS.md, "Rooms growth"; issue 10, "Linear cost per member"). Every member
 * runs in this process on one core's MemoryNetwork, which counts frames, deliveries and bytes;
 * packages/core/src/sodium.ts counts the public-key operations. Only the public API of @sealsig/rooms is used
 * (createRoom, joinRoom, room.members, room.epoch, room.kick, the 'peer-joined' / 'peer-left' / 'kicked' /
 * 'closed' events, room.close), so the same file measures the rooms implementation of today and its rewrite.
 *
 * For each n, on a fresh network:
 *
 * (fill) an open room (moderation.admit 'auto') fills one by one to n members, the moderator included:
 *   createRoom, then n - 1 joinRoom calls, one after another. A join is complete ("joined") when joinRoom has
 *   resolved, the newcomer lists every member present (the moderator and every earlier joiner) in
 *   room.members, every one of them lists the newcomer in its room.members (from its 'peer-joined' events),
 *   and no delivery is in flight on the network; only then does the next member call joinRoom. So a join's
 *   count includes the frames sent after the last one the newcomer needed (acknowledgements, late replies,
 *   the lobby's goodbye).
 *
 * (kick) then, in the filled room, the moderator kicks one member (the one that joined at position n / 2)
 *   with rotation: room.kick(id, reason). The case ends when kick() has resolved, the kicked member has had
 *   'kicked' and 'closed', every remaining member is at the moderator's new epoch (room.epoch) and no longer
 *   lists the kicked member, and the network is idle. The kick runs right after the fill: the moderator then
 *   holds whatever pairwise channels the fill left it (no public API forces them away). The handshake inits
 *   (frames of kind 2) published during the kick say whether it had to open any: 0 means every channel the
 *   kick used was already there.
 *
 * Then every room is closed (not counted).
 *
 * Time: the core sessions (room and lobby) read a virtual clock (RoomOptions.session.now) that stands still:
 * no heartbeat falls due, nothing expires and no epoch grace ends while a case runs, however slow the machine,
 * so the counts hold no idle traffic. The rooms layer's own timers run on real time; its retransmission of
 * room states and join requests (retryMs) and its resynchronisation (resyncAfterMs) only repair losses, which
 * the memory network does not cause, so both are set to 10 minutes: they never fire inside a case and the
 * counts do not depend on the machine's speed. Handshake retries (core, real timers, 1 s) would be counted if
 * one fired inside a case (see the inits).
 *
 * CPU is process.cpuUsage (user + system) around each case: all members run in this process, so it is the sum
 * over members.
 *
 * Environment knobs (all optional):
 *   BENCH_ROOMS_N=8,32,64        member counts, the moderator included (128 and 256 on request: the rooms
 *                                of today need minutes for 128 and hours for 256)
 *   BENCH_ROOMS_TIMEOUT_S=1800   real-time limit per case; a case that hits it is reported as incomplete
 *   BENCH_ROOMS_LABEL=...        the column label of the rows (default: rooms@<short commit>, "+" when
 *                                packages/ has uncommitted changes); rows of other labels are kept
 *   BENCH_ROOMS_ONLY=1           print, do not merge the rows into bench/results/latest.json
 *   BENCH_CPU, BENCH_PIN         as for bench/run.ts (bench/pin.ts)
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryNetwork, ready, type MemoryNetwork } from '../packages/core/src/index.js';
import { createRoom, joinRoom, type Room, type RoomOptions } from '../packages/rooms/src/index.js';
import { takeCounts } from './floor.js';
import { cpuNowMs, round, table, type Row } from './harness.js';
import { gcMode, pinToOneCpu } from './pin.js';
import { mergeRows, readRows, type RoomsGrowthRow } from './results-file.js';
import { ROOMS_GROWTH_FILL, ROOMS_GROWTH_KICK, isRoomsGrowthRow } from './row-names.js';
import { printChecks, roomsGrowthTargets } from './targets.js';

/** The rooms layer's retransmission and resynchronisation periods: longer than any case (see above). */
const REPAIR_MS = 600_000;
const TIMEOUT_MS = Number(process.env.BENCH_ROOMS_TIMEOUT_S ?? 1_800) * 1000;
const SIZES = (process.env.BENCH_ROOMS_N ?? '8,32,64').split(',').map(Number);
const FRAME_KIND_INIT = 2;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The sessions' clock: stands still. */
class VirtualClock {
  #t = Date.now();
  readonly now = (): number => this.#t;
}

/** What the rows are labelled with: BENCH_ROOMS_LABEL, or the commit measured. */
function commitOf(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${hash}${dirty ? '+' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Polls cond every 2 ms of real time; false if it does not hold within TIMEOUT_MS. */
async function waitUntil(cond: () => boolean): Promise<boolean> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > TIMEOUT_MS) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

// --- the room ---------------------------------------------------------------------------------------------

/** A member of the bench room, with whom it lists as members (kept from its events, cheap to poll). */
interface Seat {
  room: Room;
  sees: Set<string>;
  kicked: boolean;
  closed: boolean;
}

function seat(room: Room): Seat {
  const s: Seat = { room, sees: new Set(room.members.map((m) => m.id)), kicked: false, closed: false };
  room.on('peer-joined', (m) => s.sees.add(m.id));
  room.on('peer-left', (e) => s.sees.delete(e.member.id));
  room.on('kicked', () => (s.kicked = true));
  room.on('closed', () => (s.closed = true));
  return s;
}

function roomOptions(net: MemoryNetwork, clock: VirtualClock): RoomOptions {
  return { transport: net.connect(), session: { now: clock.now }, retryMs: REPAIR_MS, resyncAfterMs: REPAIR_MS };
}

interface Context {
  label: string;
  commit: string;
}

// --- measuring one case -----------------------------------------------------------------------------------

async function measure(name: string, n: number, ctx: Context, net: MemoryNetwork, run: () => Promise<boolean>): Promise<RoomsGrowthRow> {
  net.resetCounters();
  takeCounts();
  const wall0 = performance.now();
  const cpu0 = cpuNowMs();
  const complete = await run();
  const cpuMs = cpuNowMs() - cpu0;
  const wallMs = performance.now() - wall0;
  const c = net.counters;
  const ops = takeCounts();
  return {
    name,
    bytes: null,
    hz: round(1000 / cpuMs, 4),
    vs: null,
    ratio: null,
    label: ctx.label,
    commit: ctx.commit,
    n,
    complete,
    frames: c.framesPublished,
    deliveries: c.deliveries,
    bytesPublished: c.bytesPublished,
    bytesDelivered: c.bytesDelivered,
    framesByKind: { ...c.framesByKind },
    inits: c.framesByKind[FRAME_KIND_INIT] ?? 0,
    cpuMs: round(cpuMs),
    cpuMsPerMember: round(cpuMs / n, 2),
    wallMs: round(wallMs),
    signs: ops.ed25519Sign,
    verifies: ops.ed25519Verify,
    x25519: ops.x25519 + ops.x25519KeyPair,
  };
}

// --- the cases --------------------------------------------------------------------------------------------

/** (fill) createRoom, then n - 1 joins one by one, each complete before the next (see the top of the file). */
async function fill(n: number, ctx: Context, net: MemoryNetwork, clock: VirtualClock): Promise<[RoomsGrowthRow, Seat[]]> {
  const seats: Seat[] = [];
  const row = await measure(ROOMS_GROWTH_FILL, n, ctx, net, async () => {
    // The lobby's door (rooms §R3) refills its buckets by the clock, which stands still here: opened wide, so
    // that the fill measures what an admission costs, not the door's pace.
    const moderator = await createRoom({ ...roomOptions(net, clock), name: 'moderator', moderation: { admit: 'auto', lobbyRate: 1e6 } });
    seats.push(seat(moderator));
    if (!(await waitUntil(() => net.inFlight === 0))) return false;
    for (let k = 1; k < n; k++) {
      const room = await joinRoom({ ...roomOptions(net, clock), invite: moderator.invite, name: `member ${k}` });
      const newcomer = seat(room);
      seats.push(newcomer);
      const joined = () => net.inFlight === 0 && newcomer.sees.size === k && seats.every((s) => s === newcomer || (s.sees.has(room.id) && s.sees.size === k));
      if (!(await waitUntil(joined))) return false;
    }
    return true;
  });
  return [row, seats];
}

/** (kick) The moderator kicks the member at position n / 2; ends when the rotation reached everyone left. */
async function kick(seats: Seat[], ctx: Context, net: MemoryNetwork): Promise<RoomsGrowthRow> {
  const n = seats.length;
  const moderator = seats[0]!;
  const target = seats[Math.floor(n / 2)]!;
  const rest = seats.filter((s) => s !== target);
  const targetId = target.room.id;
  return measure(ROOMS_GROWTH_KICK, n, ctx, net, async () => {
    const before = moderator.room.epoch;
    await moderator.room.kick(targetId, 'benchmark');
    const epoch = moderator.room.epoch;
    if (epoch <= before) throw new Error(`bench self-check failed: the kick did not rotate the epoch (${before} -> ${epoch})`);
    return waitUntil(() => net.inFlight === 0 && target.kicked && target.closed && rest.every((s) => s.room.epoch >= epoch && !s.sees.has(targetId)));
  });
}

/** Checks, outside the measurements, that the fill's event-kept view agrees with room.members. */
function checkFill(seats: Seat[]): void {
  const ids = new Set(seats.map((s) => s.room.id));
  for (const s of seats) {
    const listed = s.room.members.map((m) => m.id);
    if (listed.length !== seats.length - 1 || listed.some((id) => !ids.has(id) || id === s.room.id)) {
      throw new Error(`bench self-check failed: ${s.room.id} lists ${listed.length} members, not the ${seats.length - 1} others`);
    }
    if (s.room.roster.length !== seats.length) throw new Error(`bench self-check failed: a roster of ${s.room.roster.length}, not ${seats.length}`);
  }
}

async function closeAll(seats: Seat[], net: MemoryNetwork): Promise<void> {
  // The moderator first: members that say goodbye afterwards cause no further room states.
  await seats[0]?.room.close();
  await Promise.all(seats.slice(1).map((s) => s.room.close()));
  await net.settle();
}

// --- output -----------------------------------------------------------------------------------------------

const int = (x: number) => Math.round(x).toLocaleString('en-US');

function printRows(rows: RoomsGrowthRow[]): void {
  const body = rows.map((r) => [
    r.name.replace('rooms growth: ', ''),
    String(r.n),
    r.complete ? '' : 'INCOMPLETE',
    int(r.frames),
    int(r.deliveries),
    int(r.bytesPublished),
    int(r.bytesDelivered),
    int(r.inits),
    int(r.cpuMs),
    r.cpuMsPerMember.toFixed(1),
    int(r.wallMs),
    `${int(r.signs)}/${int(r.verifies)}/${int(r.x25519)}`,
  ]);
  const headers = ['case', 'n', '', 'frames', 'deliveries', 'bytes out', 'bytes in', 'inits', 'CPU ms', '/member', 'wall ms', 'sign/verify/X25519'];
  console.log(table(headers, body, [false, true, false, true, true, true, true, true, true, true, true, true]));
}

async function main(): Promise<void> {
  if (!SIZES.every((n) => Number.isInteger(n) && n >= 3 && n <= 256)) throw new Error('BENCH_ROOMS_N: a comma-separated list of integers from 3 to 256');
  const pinning = `${pinToOneCpu()}, ${gcMode()}`;
  await ready();
  const commit = commitOf();
  const ctx: Context = { label: process.env.BENCH_ROOMS_LABEL || `rooms@${commit}`, commit };
  const cpus = os.cpus();
  console.log(`sealsig rooms growth bench: ${ctx.label} (commit ${commit}); node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}; ${pinning}; n = ${SIZES.join(', ')}`);
  console.log('open room, moderator admits automatically; core sessions on a virtual clock that stands still; rooms retransmission and resync every 10 min');
  // Warm-up, not reported: one small room, so that n = 8 does not pay for compiling the rooms code.
  {
    const net = createMemoryNetwork();
    const [, seats] = await fill(4, ctx, net, new VirtualClock());
    await kick(seats, ctx, net);
    await closeAll(seats, net);
  }

  const rows: RoomsGrowthRow[] = [];
  for (const n of SIZES) {
    const t0 = performance.now();
    const net = createMemoryNetwork();
    const [filled, seats] = await fill(n, ctx, net, new VirtualClock());
    rows.push(filled);
    if (filled.complete) {
      checkFill(seats);
      rows.push(await kick(seats, ctx, net));
    }
    await closeAll(seats, net);
    console.log(`  n = ${n} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  console.log('');
  printRows(rows);

  // Replace the rows of this label and the member counts measured now; keep the others (another label's, or a
  // 128/256 run on request). The targets are read from the merged rows: a 256-member run on request is
  // compared with the 64-member row of an earlier run of the same label.
  const measured = new Set(SIZES);
  const replaced = (r: Row) => isRoomsGrowthRow(r.name) && (r as RoomsGrowthRow).label === ctx.label && measured.has((r as RoomsGrowthRow).n);
  const merged = [...readRows().filter((r) => !replaced(r)), ...rows];
  console.log(`\nTargets (issue 10), ${ctx.label}, from this run and the rows of the same label in bench/results/latest.json:`);
  printChecks(roomsGrowthTargets(merged, ctx.label));
  if (process.env.BENCH_ROOMS_ONLY === '1') {
    console.log('\nBENCH_ROOMS_ONLY=1: bench/results/latest.json not written.');
  } else {
    mergeRows(replaced, rows);
    console.log(`\nmerged ${rows.length} rooms growth rows into bench/results/latest.json`);
  }
}

await main();
