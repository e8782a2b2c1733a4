/**
 * `pnpm bench:tables` (also the last step of `pnpm bench`): regenerates every table of docs/BENCHMARKS.md
 * and docs/SCALING.md (its tables: bench/scaling-model.ts) from bench/results/latest.json, so the documents
 * and the JSON never disagree. A table lives between
 *
 *   <!-- table:NAME -->
 *   ...generated...
 *   <!-- /table:NAME -->
 *
 * and everything outside those markers is left as written. `--check` writes nothing and exits 1 when the
 * document differs from what this script generates (packages/core/test/benchmarks-doc.test.ts runs the same
 * check through renderDocument).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmtMicros, fmtRate, type Row } from './harness.js';
import { LATEST, isGrowthCaseRow, isRoomsGrowthCaseRow, readRows, type GrowthRow, type RoomsGrowthRow } from './results-file.js';
import {
  BARE,
  BROADCAST,
  CPACE,
  ED25519_NODE,
  ED25519_WEBCRYPTO,
  GROWTH_CASES,
  GROWTH_JOIN_AT_ONCE,
  GROWTH_JOIN_ONE_BY_ONE,
  GROWTH_MESH,
  HANDSHAKE,
  JOIN,
  LOAD_PREFIX,
  PBKDF2,
  PIPELINE,
  PIPELINE_VS_WEBCRYPTO,
  ROOM_JOIN,
  ROOM_JOIN_PASSWORD,
  ROOMS_GROWTH_FILL,
  ROOMS_GROWTH_KICK,
  STAGE_AEAD,
  STAGE_MSGPACK,
  STAGE_SIGN,
  STAGE_VERIFY,
  WEBCRYPTO,
  isLoadCheckRow,
} from './row-names.js';
import { SCALING_TABLES } from './scaling-model.js';
import { growthProtocols, growthTargets, metLabel, pipelineTargets, relayTargets, roomsGrowthLabels, roomsGrowthTargets, type Check } from './targets.js';

export const DOC = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'BENCHMARKS.md');
export const SCALING_DOC = join(dirname(DOC), 'SCALING.md');

// --- formatting -------------------------------------------------------------------------------------------

/** A GitHub-flavoured Markdown table; `right` marks the right-aligned columns. */
function markdown(headers: string[], body: string[][], right: boolean[]): string {
  const rule = headers.map((_, i) => (right[i] ? '---:' : '---'));
  return [headers, rule, ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const us = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : int(x));
const ratio = (x: number) => (x >= 10 ? x.toFixed(1) : x.toFixed(3));
const percent = (x: number) => `${Math.round(x * 100)}%`;
const ms = (x: number) => (x < 100 ? x.toFixed(1) : int(x));
const bytesLabel = (b: number | null) => (b === null ? '–' : String(b));

function checksTable(checks: readonly Check[]): string {
  return markdown(['target', 'measured', 'status'], checks.map((c) => [c.target, c.value, metLabel(c.met, c.noTarget)]), [false, true, false]);
}

// --- the tables -------------------------------------------------------------------------------------------

type Render = (rows: readonly Row[]) => string;

const find = (rows: readonly Row[], name: string, bytes: number | null) => rows.find((r) => r.name === name && r.bytes === bytes);

/** CPU µs per op of a harness row (cpuHz), or NaN when the row is missing. */
function cpuUs(rows: readonly Row[], name: string, bytes: number | null): number {
  const r = find(rows, name, bytes);
  return r?.cpuHz === undefined ? NaN : 1e6 / r.cpuHz;
}

const PIPELINE_ROWS: [string, number | null][] = [
  ...[200, 4096].flatMap((b): [string, number][] => [
    [PIPELINE, b],
    [PIPELINE_VS_WEBCRYPTO, b],
    [BARE, b],
    [WEBCRYPTO, b],
    [BROADCAST, b],
  ]),
  [JOIN, null],
  [PBKDF2, null],
  [HANDSHAKE, null],
];

const SHORT_VS: Record<string, string> = { [BARE]: 'bare AEAD', [WEBCRYPTO]: 'WebCrypto', [PBKDF2]: 'PBKDF2', [HANDSHAKE]: 'handshake', [JOIN]: 'joinSession', [ROOM_JOIN]: 'open-room join', [BROADCAST]: 'broadcast' };

function harnessTable(rows: readonly Row[], wanted: readonly [string, number | null][]): string {
  const body: string[][] = [];
  for (const [name, bytes] of wanted) {
    const r = find(rows, name, bytes);
    if (r === undefined) continue;
    body.push([
      r.name,
      bytesLabel(r.bytes),
      fmtRate(r.hz),
      r.cpuHz === undefined ? '–' : fmtRate(r.cpuHz),
      r.cpuHz === undefined ? fmtMicros(r.hz) : fmtMicros(r.cpuHz),
      r.vs === null || r.ratio === null ? '' : `${ratio(r.ratio)} (${SHORT_VS[r.vs] ?? r.vs})`,
    ]);
  }
  return markdown(['case', 'bytes', 'ops/s (wall)', 'ops/s (CPU)', 'CPU µs/op', 'ratio, CPU (vs)'], body, [false, true, true, true, true, false]);
}

const pipeline: Render = (rows) => harnessTable(rows, PIPELINE_ROWS);

const rooms: Render = (rows) =>
  harnessTable(rows, [
    [HANDSHAKE, null],
    [CPACE, null],
    [JOIN, null],
    [ROOM_JOIN, null],
    [ROOM_JOIN_PASSWORD, null],
    [PBKDF2, null],
  ]);

/** Stages of the signed broadcast, the other Ed25519s, and what the broadcast would cost with them. */
const broadcastProfile: Render = (rows) => {
  const sizes = [200, 4096];
  const line = (label: string, f: (b: number) => string): string[] => [label, ...sizes.map(f)];
  const at = (name: string) => (b: number) => cpuUs(rows, name, b);
  const total = at(BROADCAST);
  const web = at(WEBCRYPTO);
  const stages = [STAGE_SIGN, STAGE_VERIFY, STAGE_AEAD, STAGE_MSGPACK];
  const rest = (b: number) => total(b) - stages.reduce((sum, s) => sum + at(s)(b), 0);
  const withShare = (f: (b: number) => number) => (b: number) => `${us(f(b))} (${percent(f(b) / total(b))})`;
  const vsWeb = (f: (b: number) => number) => (b: number) => `${us(f(b))} µs: ${ratio(web(b) / f(b))}x`;
  const signing = (b: number) => at(STAGE_SIGN)(b) + at(STAGE_VERIFY)(b);
  const replaced = (alt: string) => (b: number) => total(b) - signing(b) + at(alt)(b);
  const body = [
    line('**broadcast pipeline (signed)**, CPU µs per message sealed, opened and verified', (b) => us(total(b))),
    line('… Ed25519 sign (libsodium wasm)', withShare(at(STAGE_SIGN))),
    line('… Ed25519 verify (libsodium wasm)', withShare(at(STAGE_VERIFY))),
    line('… XChaCha20-Poly1305 seal + open', withShare(at(STAGE_AEAD))),
    line('… msgpack encode + decode', withShare(at(STAGE_MSGPACK))),
    line('… the rest: header, padding, copies, frame, nonce (pipeline minus the above)', withShare(rest)),
    line('y-webrtc-style WebCrypto AES-GCM message', (b) => us(web(b))),
    line('Ed25519 sign + verify, node:crypto (OpenSSL, synchronous)', (b) => us(at(ED25519_NODE)(b))),
    line('Ed25519 sign + verify, WebCrypto (awaited)', (b) => us(at(ED25519_WEBCRYPTO)(b))),
    line('broadcast as measured: µs, and its speed as a multiple of y-webrtc', vsWeb(total)),
    line('… with node:crypto Ed25519 instead of wasm', vsWeb(replaced(ED25519_NODE))),
    line('… with WebCrypto Ed25519 instead of wasm', vsWeb(replaced(ED25519_WEBCRYPTO))),
    line('… with no signature at all (the bound for any Ed25519)', vsWeb((b) => total(b) - signing(b))),
    line('pairwise pipeline, per recipient (a broadcast sent as direct messages)', vsWeb(at(PIPELINE))),
  ];
  return markdown(['CPU µs per message', '200 B', '4096 B'], body, [false, true, true]);
};

/** Growth columns: protocol version, then member count. */
const byColumn = (a: GrowthRow, b: GrowthRow) => a.protocol - b.protocol || a.n - b.n;
const columnLabel = (r: GrowthRow) => `v${r.protocol}, n = ${r.n}`;

function growthCase(rows: readonly GrowthRow[], name: string): string {
  const runs = rows.filter((r) => r.name === name).sort(byColumn);
  const col = (f: (r: GrowthRow) => string) => runs.map((r) => (r.complete ? f(r) : `${f(r)} (incomplete)`));
  const metrics: [string, (r: GrowthRow) => string][] = [
    ['frames published', (r) => int(r.frames)],
    ['deliveries (frame x receiver)', (r) => int(r.deliveries)],
    ['bytes published', (r) => int(r.bytesPublished)],
    ['bytes delivered', (r) => int(r.bytesDelivered)],
    ['handshake inits (kind 2)', (r) => int(r.inits)],
    ...(name === GROWTH_MESH ? [['inits per pair', (r: GrowthRow) => r.initsPerPair.toFixed(2)] as [string, (r: GrowthRow) => string]] : []),
    ['CPU ms, all members', (r) => int(r.cpuMs)],
    ['CPU ms per member', (r) => r.cpuMsPerMember.toFixed(1)],
    ['Ed25519 signs / verifies', (r) => `${int(r.signs)} / ${int(r.verifies)}`],
    ['X25519 operations (+ key pairs)', (r) => `${int(r.x25519)} (+ ${int(r.x25519KeyPairs)})`],
    ['floor ms (operations x unit costs)', (r) => int(r.floorMs)],
    ['CPU / floor', (r) => `${r.cpuOverFloor.toFixed(2)}x`],
    ...(name === GROWTH_JOIN_AT_ONCE || name === GROWTH_JOIN_ONE_BY_ONE
      ? ([
          ['ideal floor ms (n signs + n(n-1) verifies)', (r) => (r.idealFloorMs === undefined ? '-' : int(r.idealFloorMs))],
          ['CPU / ideal floor', (r) => (r.cpuOverIdeal === undefined ? '-' : `${r.cpuOverIdeal.toFixed(2)}x`)],
        ] as [string, (r: GrowthRow) => string][])
      : []),
  ];
  const body = metrics.map(([label, f]) => [label, ...col(f)]);
  return markdown([name.replace('growth: ', ''), ...runs.map(columnLabel)], body, [false, ...runs.map(() => true)]);
}

const growth: Render = (rows) => {
  const g = rows.filter(isGrowthCaseRow);
  return GROWTH_CASES.map((name) => growthCase(g, name)).join('\n\n');
};

/** The growth targets, one column pair per protocol version measured. */
const growthTargetsTable: Render = (rows) => {
  const protocols = growthProtocols(rows);
  const checks = protocols.map((p) => growthTargets(rows, p));
  const targets = (checks[0] ?? growthTargets([])).map((c) => c.target);
  const body = targets.map((t, i) => [t, ...checks.flatMap((cs) => [cs[i]!.value, metLabel(cs[i]!.met)])]);
  const headers = ['target', ...protocols.flatMap((p) => [`v${p}`, `v${p} status`])];
  return markdown(headers, body, [false, ...protocols.flatMap(() => [true, false])]);
};

/** The unit costs each row's floor was computed with, and how much they moved across the case. */
const growthUnits: Render = (rows) => {
  const order = (r: GrowthRow) => GROWTH_CASES.indexOf(r.name as (typeof GROWTH_CASES)[number]);
  const runs = rows.filter(isGrowthCaseRow).sort((a, b) => byColumn(a, b) || order(a) - order(b));
  const keys = ['ed25519Sign', 'ed25519Verify', 'ed25519KeyPair', 'x25519', 'x25519KeyPair'];
  const body = runs.map((r) => [`${columnLabel(r)}: ${r.name.replace('growth: ', '')}`, ...keys.map((k) => us(r.unitUs[k] ?? NaN)), percent(r.unitDrift ?? NaN)]);
  const headers = ['case', 'Ed25519 sign', 'Ed25519 verify', 'Ed25519 key pair', 'X25519', 'X25519 key pair', 'drift'];
  return markdown(headers, body, [false, true, true, true, true, true, true]);
};

/** Rooms growth columns: label (in the order first measured), then member count. */
function roomsGrowthCase(rows: readonly Row[], name: string, metrics: [string, (r: RoomsGrowthRow, all: readonly RoomsGrowthRow[]) => string][]): string {
  const all = rows.filter(isRoomsGrowthCaseRow);
  const labels = roomsGrowthLabels(rows);
  const runs = all.filter((r) => r.name === name).sort((a, b) => labels.indexOf(a.label) - labels.indexOf(b.label) || a.n - b.n);
  const body = metrics.map(([label, f]) => [label, ...runs.map((r) => (r.complete ? f(r, all) : `${f(r, all)} (incomplete)`))]);
  return markdown([name.replace('rooms growth: ', ''), ...runs.map((r) => `${r.label}, n = ${r.n}`)], body, [false, ...runs.map(() => true)]);
}

/** The same case of the same label at member count n, if it ran to completion. */
const sibling = (all: readonly RoomsGrowthRow[], r: RoomsGrowthRow, n: number) => all.find((x) => x.name === r.name && x.label === r.label && x.n === n && x.complete);

const roomsGrowth: Render = (rows) => {
  const fill = roomsGrowthCase(rows, ROOMS_GROWTH_FILL, [
    ['frames published', (r) => int(r.frames)],
    ['deliveries (frame x receiver)', (r) => int(r.deliveries)],
    ['bytes published', (r) => int(r.bytesPublished)],
    ['bytes delivered', (r) => int(r.bytesDelivered)],
    ['bytes delivered ÷ the fill to 64', (r, all) => {
      const b = sibling(all, r, 64);
      return b === undefined ? '–' : `${ratio(r.bytesDelivered / b.bytesDelivered)}x`;
    }],
    ['handshake inits (kind 2)', (r) => int(r.inits)],
    ['CPU ms, all members', (r) => int(r.cpuMs)],
    ['CPU ms per member', (r) => r.cpuMsPerMember.toFixed(1)],
    ['CPU ÷ the fill to n / 2', (r, all) => {
      const h = r.n % 2 === 0 ? sibling(all, r, r.n / 2) : undefined;
      return h === undefined ? '–' : `${ratio(r.cpuMs / h.cpuMs)}x`;
    }],
    ['wall ms', (r) => int(r.wallMs)],
    ['Ed25519 signs / verifies', (r) => `${int(r.signs)} / ${int(r.verifies)}`],
    ['X25519 operations and key pairs', (r) => int(r.x25519)],
  ]);
  const kick = roomsGrowthCase(rows, ROOMS_GROWTH_KICK, [
    ['frames published', (r) => int(r.frames)],
    ['deliveries (frame x receiver)', (r) => int(r.deliveries)],
    ['deliveries ÷ n', (r) => (r.deliveries / r.n).toFixed(1)],
    ['bytes published', (r) => int(r.bytesPublished)],
    ['bytes delivered', (r) => int(r.bytesDelivered)],
    ['handshake inits (kind 2; 0: no channel had to be opened)', (r) => int(r.inits)],
    ['wall ms', (r) => ms(r.wallMs)],
    ['CPU ms, all members', (r) => ms(r.cpuMs)],
    ['Ed25519 signs / verifies', (r) => `${int(r.signs)} / ${int(r.verifies)}`],
  ]);
  return `${fill}\n\n${kick}`;
};

/** The rooms growth targets, one column pair per label. */
const roomsGrowthTargetsTable: Render = (rows) => {
  const labels = roomsGrowthLabels(rows);
  const checks = labels.map((l) => roomsGrowthTargets(rows, l));
  const targets = (checks[0] ?? roomsGrowthTargets([])).map((c) => c.target);
  const body = targets.map((t, i) => [t, ...checks.flatMap((cs) => [cs[i]!.value, metLabel(cs[i]!.met)])]);
  const headers = ['target', ...labels.flatMap((l) => [l, `${l} status`])];
  return markdown(headers, body, [false, ...labels.flatMap(() => [true, false])]);
};

const loadCheck: Render = (rows) => {
  const signed = (c: number) => `${c >= 0 ? '+' : '−'}${Math.abs(c * 100).toFixed(1)}%`;
  const each = (xs: unknown) => (Array.isArray(xs) ? xs.map((x: number) => ratio(x)).join(', ') : '');
  const body = rows
    .filter((r) => isLoadCheckRow(r.name))
    .map((r) => {
      const x = r as Row & { quietRatio: number; loadedRatio: number; quietWallRatio: number; loadedWallRatio: number };
      return [
        r.name.includes('(vs ') ? r.name.slice(LOAD_PREFIX.length) : `${r.name.slice(LOAD_PREFIX.length)} (vs ${SHORT_VS[r.vs!] ?? r.vs})`,
        bytesLabel(r.bytes),
        ratio(x.quietRatio),
        ratio(x.loadedRatio),
        signed(x.loadedRatio / x.quietRatio - 1),
        `${each(r.quietRatios)} / ${each(r.loadedRatios)}`,
        `${ratio(x.quietWallRatio)} → ${ratio(x.loadedWallRatio)} (${signed(x.loadedWallRatio / x.quietWallRatio - 1)})`,
      ];
    });
  const headers = ['ratio', 'bytes', 'quiet (CPU)', 'loaded (CPU)', 'change', 'each run: quiet / loaded', 'from wall time: quiet → loaded'];
  return markdown(headers, body, [false, true, true, true, true, true, true]);
};

/** The relay's fan-out rows (bench/relay.ts): bare `ws`, the memory engine and the Redis engine side by side, per case and measure. */
const relayFanout: Render = (rows) => {
  const body: string[][] = [];
  const byName = (name: string) => rows.find((r) => r.name === name);
  const share = (x: unknown) => (typeof x === 'number' ? percent(x) : '?');
  for (const bare of rows) {
    const m = /^bare ws broadcast fan-out, (.+)$/.exec(bare.name);
    if (m === null) continue;
    const label = m[1]!;
    const bareCpu = byName(`bare ws broadcast fan-out per server CPU-second, ${label}`);
    const cell = (r: Row | undefined, cpu: string) => (r === undefined ? '–' : `${fmtRate(r.hz)}/s${cpu}`);
    const ratioCell = (r: Row | undefined) => (r === undefined || r.ratio === null ? '–' : ratio(r.ratio));
    const wall = (engine: string) => byName(`relay fan-out, ${engine} engine, ${label}`);
    const perCpu = (engine: string) => byName(`relay fan-out per relay CPU-second, ${engine} engine, ${label}`);
    const mem = wall('memory');
    const redis = wall('Redis');
    body.push([
      label,
      'wall clock (server CPU)',
      cell(bare, ` (${share(bare.serverCpu)})`),
      cell(mem, mem ? ` (${share(mem.serverCpu)})` : ''),
      ratioCell(mem),
      cell(redis, redis ? ` (${share(redis.serverCpu)} + redis-server ${share(redis.redisCpu)})` : ''),
      ratioCell(redis),
    ]);
    body.push([label, 'per relay CPU-second', cell(bareCpu, ''), cell(perCpu('memory'), ''), ratioCell(perCpu('memory')), cell(perCpu('Redis'), ''), ratioCell(perCpu('Redis'))]);
    const total = byName(`relay fan-out per relay + redis-server CPU-second, Redis engine, ${label}`);
    if (total !== undefined) body.push([label, 'per relay + redis-server CPU-second', cell(bareCpu, ''), '', '', cell(total, ''), ratioCell(total)]);
  }
  return markdown(['case', 'measure', 'bare `ws`', 'memory engine', 'ratio', 'Redis engine', 'ratio'], body, [false, false, true, true, true, true, true]);
};

/** The relay's other rows (bench/relay.ts: latency, idle memory), one line per comparison. */
const relay: Render = (rows) => {
  const body: string[][] = [];
  for (const r of rows) {
    if (!r.name.startsWith('relay ') || r.name.startsWith('relay fan-out') || isRedisRow(r) || r.vs === null) continue;
    const base = rows.find((b) => b.name === r.vs);
    const label = r.name.slice('relay '.length);
    if (typeof r.ms === 'number' && base !== undefined && typeof base.ms === 'number') {
      const added = (r.ms as number) - (base.ms as number);
      body.push([label, `${(r.ms as number).toFixed(3)} ms`, `${(base.ms as number).toFixed(3)} ms`, `${added >= 0 ? '+' : '−'}${Math.abs(added).toFixed(3)} ms`]);
    } else if (base !== undefined) {
      body.push([label, `${fmtRate(r.hz)}/s`, `${fmtRate(base.hz)}/s`, ratio(r.ratio!)]);
    }
  }
  for (const r of rows) {
    if (!r.name.startsWith('relay idle connections')) continue;
    body.push([r.name.slice('relay '.length), `${fmtRate(r.hz)} (${String(r.kib)} KiB heap, ${String(r.rssKib)} KiB RSS per connection)`, '', '']);
  }
  return markdown(['case', 'relay', 'bare `ws`', 'ratio or added'], body, [false, true, true, true]);
};

/** The Redis engine's own rows (bench/relay.ts): its latency against the memory engine's, Redis CPU per frame against a pipelined XADD. */
const isRedisRow = (r: Row) => r.name.startsWith('relay Redis engine:') || / @ 5k deliveries\/s, /.test(r.name);

const relayRedis: Render = (rows) => {
  const body: string[][] = [];
  for (const r of rows) {
    if (!isRedisRow(r) || r.vs === null) continue;
    const base = rows.find((b) => b.name === r.vs);
    if (base === undefined) continue;
    const label = r.name.replace(/^relay (Redis engine: )?/, '');
    if (typeof r.ms === 'number') body.push([label, `${(r.ms as number).toFixed(3)} ms`, `memory engine ${(base.ms as number).toFixed(3)} ms`, ratio(r.ratio!)]);
    else body.push([label, `${(r.us as number).toFixed(2)} µs`, `pipelined XADD ${(base.us as number).toFixed(2)} µs`, ratio(r.ratio!)]);
  }
  return markdown(['case', 'Redis engine', 'yardstick', 'ratio'], body, [false, true, true, true]);
};

export const TABLES: Record<string, Render> = {
  'relay-redis': relayRedis,
  pipeline,
  'pipeline-targets': (rows) => checksTable(pipelineTargets(rows)),
  'broadcast-profile': broadcastProfile,
  rooms,
  'relay-fanout': relayFanout,
  relay,
  'relay-targets': (rows) => checksTable(relayTargets(rows)),
  growth,
  'growth-targets': growthTargetsTable,
  'growth-units': growthUnits,
  'rooms-growth': roomsGrowth,
  'rooms-growth-targets': roomsGrowthTargetsTable,
  'load-check': loadCheck,
};

// --- the document -----------------------------------------------------------------------------------------

const BLOCK = /(<!-- table:([a-z-]+) -->\n)[\s\S]*?(<!-- \/table:\2 -->)/g;

/** The document with every marked table regenerated from rows. Throws on a marker naming no table. */
export function renderDocument(doc: string, rows: readonly Row[], tables: Record<string, Render> = TABLES): string {
  return doc.replace(BLOCK, (_all, open: string, name: string, close: string) => {
    const render = tables[name];
    if (render === undefined) throw new Error(`no table named "${name}" in bench/tables.ts`);
    return `${open}${render(rows)}\n${close}`;
  });
}

function main(): void {
  const rows = readRows(LATEST);
  let stale = false;
  for (const [file, tables] of [[DOC, TABLES], [SCALING_DOC, SCALING_TABLES]] as const) {
    const doc = readFileSync(file, 'utf8');
    const next = renderDocument(doc, rows, tables);
    const name = relative(join(dirname(DOC), '..'), file);
    if (process.argv.includes('--check')) {
      if (next !== doc) {
        console.error(`${name} differs from the tables generated from bench/results/latest.json: run \`pnpm bench:tables\``);
        stale = true;
      } else console.log(`${name} matches bench/results/latest.json`);
      continue;
    }
    writeFileSync(file, next);
    console.log(next === doc ? `${name} already up to date` : `${name}: tables regenerated from bench/results/latest.json`);
  }
  if (stale) process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
