/**
 * `pnpm bench`: throughput of sealsig's message pipelines against two baselines, in one process, cases
 * interleaved in rounds, median ops/s per case (from wall time and from CPU time; ratios from CPU time).
 * Merges its rows into bench/results/latest.json and prints a table. See docs/BENCHMARKS.md for the method,
 * the cases and how to read the output.
 *
 * Environment knobs (all optional):
 *   BENCH_ROUNDS=9      rounds (each case runs one batch per round; at least 7 is recommended)
 *   BENCH_BATCH_MS=100  target duration of one batch
 *   BENCH_WARMUP_MS=300 warm-up time per case
 *   BENCH_ONLY=regex    run only the cases whose label matches (for profiling); latest.json is not written
 *   BENCH_CPU=n         the CPU to pin the process to (default: the highest CPU this process may use)
 *   BENCH_PIN=0         do not pin (threads then float across cores; see docs/BENCHMARKS.md for the effect)
 *   BENCH_OUT=file      write this run's rows to that file alone instead of merging them into latest.json
 *                       (bench/load-check.ts uses it)
 */
import os from 'node:os';
import {
  BroadcastType,
  ChannelKeys,
  DirectType,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  createMemoryNetwork,
  createSessionId,
  equalBytes,
  decodeFrame,
  deriveEpochKeys,
  deriveSession,
  ed25519KeyPair,
  encodeHeader,
  joinSession,
  newHandshake,
  openBroadcast,
  pairwisePrologue,
  readHandshakeFrame,
  ready,
  sealBroadcast,
  verifyBroadcast,
  writeHandshakeFrame,
  x25519KeyPair,
  type Header,
  type KeyPair,
} from '../packages/core/src/index.js';
import { chachaOpen, chachaSeal, randomBytes } from '../packages/core/src/sodium.js';
import { broadcastProfileCases, broadcastProfileSink } from './broadcast-profile.js';
import { Stopwatch, fmtMicros, fmtRate, label, round, runInterleaved, table, type Case, type CaseResult, type Row } from './harness.js';
import { gcMode, pinToOneCpu } from './pin.js';
import { pipelineTargets, printChecks } from './targets.js';
import { LATEST, mergeRows, writeRows } from './results-file.js';
import {
  BARE,
  BROADCAST,
  BROADCAST_STAGES,
  CPACE,
  ED25519_ALTERNATIVES,
  HANDSHAKE,
  JOIN,
  PBKDF2,
  PIPELINE,
  PIPELINE_VS_WEBCRYPTO,
  ROOM_JOIN,
  ROOM_JOIN_PASSWORD,
  ROOMS_ROWS,
  RUN_ROWS,
  WEBCRYPTO,
} from './row-names.js';
import { cpaceCase, roomJoinCase } from './rooms.js';
import { decryptJson, deriveKey, encryptJson } from './ywebrtc.js';

const SIZES = [200, 4096] as const;

/** Something the optimiser cannot prove unused. */
let sink = 0;

function fail(msg: string): never {
  throw new Error(`bench self-check failed: ${msg}`);
}

const sameBytes = (a: unknown, b: Uint8Array): boolean => a instanceof Uint8Array && equalBytes(a, b);

// --- fixtures ---------------------------------------------------------------------------------------------

interface Member {
  id: Uint8Array;
  instance: Uint8Array;
  dh: KeyPair;
  signing: KeyPair;
}

function member(): Member {
  return { id: randomBytes(16), instance: randomBytes(8), dh: x25519KeyPair(), signing: ed25519KeyPair() };
}

const TIMESTAMP = 1_760_000_000_000; // fixed: the pipeline never checks freshness (session.ts does)

function header(route: Uint8Array, from: Member, to: Member | null, kind: Header['kind'], counter: number): Header {
  return {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind,
    route,
    sender: from.id,
    instance: from.instance,
    recipient: to === null ? null : to.id,
    epoch: 0,
    counter,
    timestamp: TIMESTAMP,
  };
}

interface Room {
  route: Uint8Array;
  broadcastKey: Uint8Array;
  psk: Uint8Array;
  a: Member;
  b: Member;
}

function room(): Room {
  const secrets = deriveSession(createSessionId());
  const epoch = deriveEpochKeys(0, secrets.roomKey0);
  return { route: secrets.routeTag, broadcastKey: epoch.broadcastKey, psk: epoch.psk, a: member(), b: member() };
}

/** One full KKpsk0 handshake, as session.ts runs it: a initiates, b responds. Returns [a's keys, b's keys]. */
function handshake(r: Room): [ChannelKeys, ChannelKeys] {
  const prologue = pairwisePrologue(r.route, r.a, r.b);
  const hsA = newHandshake({ initiator: true, prologue, s: r.a.dh, rs: r.b.dh.publicKey, psk: r.psk });
  const hsB = newHandshake({ initiator: false, prologue, s: r.b.dh, rs: r.a.dh.publicKey, psk: r.psk });
  try {
    const init = writeHandshakeFrame(hsA, header(r.route, r.a, r.b, FrameKind.handshakeInit, 0));
    readHandshakeFrame(hsB, decodeFrame(init.frame));
    const resp = writeHandshakeFrame(hsB, header(r.route, r.b, r.a, FrameKind.handshakeResp, 0));
    const { split } = readHandshakeFrame(hsA, decodeFrame(resp.frame));
    if (split === undefined || resp.split === undefined) fail('handshake did not split');
    const [c1, c2] = split;
    const [d1, d2] = resp.split;
    return [new ChannelKeys(c1, c2), new ChannelKeys(d2, d1)];
  } finally {
    hsA.destroy();
    hsB.destroy();
  }
}

// --- cases ------------------------------------------------------------------------------------------------

/** 1. seal (header + msgpack + pad + ChaCha20-Poly1305 + frame) -> decodeFrame -> open (replay, decrypt, unpad, msgpack). */
function pipelineCase(bytes: number): Case {
  const r = room();
  const [a, b] = handshake(r);
  const payload = randomBytes(bytes);
  const once = () => {
    const frame = a.seal(header(r.route, r.a, r.b, FrameKind.direct, a.nextCounter()), DirectType.app, payload);
    return b.open(decodeFrame(frame));
  };
  const first = once();
  if (first.type !== DirectType.app || !sameBytes(first.payload, payload)) fail('pairwise pipeline round trip');
  return {
    name: PIPELINE,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += (once().payload as Uint8Array).length;
    },
  };
}

/** 2. The floor: ChaCha20-Poly1305 (IETF, 12-byte nonce) seal + open of the same payload, via sodium.ts. */
function bareCase(bytes: number): Case {
  const r = room();
  const key = randomBytes(32);
  const nonce = new Uint8Array(12);
  const nonceView = new DataView(nonce.buffer);
  // "Small AD": the same bytes as the pipeline's AD, a real direct-frame header (~80 bytes).
  const ad = encodeHeader(header(r.route, r.a, r.b, FrameKind.direct, 0));
  const payload = randomBytes(bytes);
  let n = 0;
  const once = () => {
    nonceView.setUint32(4, n++, true);
    return chachaOpen(key, nonce, chachaSeal(key, nonce, payload, ad), ad);
  };
  if (!sameBytes(once(), payload)) fail('bare AEAD round trip');
  return {
    name: BARE,
    bytes,
    run(count) {
      for (let i = 0; i < count; i++) sink += once().length;
    },
  };
}

/** 3. y-webrtc today: lib0 writeAny + await AES-GCM encrypt + lib0 framing, then the reverse, awaited. */
async function webcryptoCase(bytes: number): Promise<Case> {
  const key = await deriveKey('room password', 'room name');
  const payload = randomBytes(bytes);
  const once = async () => decryptJson(await encryptJson(payload, key), key);
  if (!sameBytes(await once(), payload)) fail('WebCrypto baseline round trip');
  return {
    name: WEBCRYPTO,
    bytes,
    async run(n) {
      for (let i = 0; i < n; i++) sink += ((await once()) as Uint8Array).length;
    },
  };
}

/** 4. sealBroadcast (sign + XChaCha20-Poly1305) -> decodeFrame -> openBroadcast -> verifyBroadcast. */
function broadcastCase(bytes: number): Case {
  const r = room();
  const payload = randomBytes(bytes);
  let counter = 0;
  const once = () => {
    const frame = sealBroadcast({
      header: header(r.route, r.a, null, FrameKind.broadcast, counter++),
      key: r.broadcastKey,
      signingKey: r.a.signing.privateKey,
      type: BroadcastType.app,
      payload,
    });
    const opened = openBroadcast(decodeFrame(frame), r.broadcastKey);
    if (!verifyBroadcast(opened, r.a.signing.publicKey)) fail('broadcast signature');
    return opened;
  };
  const first = once();
  if (first.type !== BroadcastType.app || !sameBytes(first.payload, payload)) fail('broadcast round trip');
  return {
    name: BROADCAST,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += (once().payload as Uint8Array).length;
    },
  };
}

/** 5a. joinSession() from call to resolved, on a fresh in-memory network each time (close is not timed). */
function joinCase(): Case {
  return {
    name: JOIN,
    bytes: null,
    async run(n) {
      const timed = new Stopwatch();
      for (let i = 0; i < n; i++) {
        const net = createMemoryNetwork();
        const transport = net.connect();
        const sessionId = createSessionId();
        timed.start();
        const s = await joinSession({ sessionId, transport });
        timed.stop();
        sink += s.id.length;
        await s.close();
        await transport.close();
      }
      return timed;
    },
  };
}

/** 5b. What y-webrtc does at join: PBKDF2 (100 000 iterations) from the room password. */
function pbkdf2Case(): Case {
  let i = 0;
  return {
    name: PBKDF2,
    bytes: null,
    async run(n) {
      for (let k = 0; k < n; k++) {
        const key = await deriveKey('room password', `room ${i++}`);
        sink += key.type.length;
      }
    },
  };
}

/** 5c. One full KKpsk0 handshake: both initialize, init write + read, resp write + read, split. */
function handshakeCase(): Case {
  const r = room();
  const [a, b] = handshake(r);
  a.destroy();
  b.destroy();
  return {
    name: HANDSHAKE,
    bytes: null,
    run(n) {
      for (let i = 0; i < n; i++) {
        const [x, y] = handshake(r);
        sink += x.nextCounter() + y.nextCounter() + 1;
        x.destroy();
        y.destroy();
      }
    },
  };
}

// --- output -----------------------------------------------------------------------------------------------

function rows(results: CaseResult[]): Row[] {
  const find = (name: string, bytes: number | null) => results.find((r) => r.name === name && r.bytes === bytes);
  const out: Row[] = [];
  const add = (name: string, bytes: number | null, measured: string, vs: string | null) => {
    const m = find(measured, bytes);
    if (m === undefined) return;
    const base = vs === null ? undefined : find(vs, bytes);
    out.push({
      name,
      bytes,
      hz: round(m.hz),
      cpuHz: round(m.cpuHz),
      vs: base === undefined ? null : vs,
      ratio: base === undefined ? null : round(m.cpuHz / base.cpuHz, 4),
    });
  };
  for (const bytes of SIZES) {
    add(PIPELINE, bytes, PIPELINE, BARE);
    add(PIPELINE_VS_WEBCRYPTO, bytes, PIPELINE, WEBCRYPTO);
    add(BARE, bytes, BARE, null);
    add(WEBCRYPTO, bytes, WEBCRYPTO, null);
    add(BROADCAST, bytes, BROADCAST, WEBCRYPTO);
    for (const name of [...BROADCAST_STAGES, ...ED25519_ALTERNATIVES]) add(name, bytes, name, BROADCAST);
  }
  add(JOIN, null, JOIN, PBKDF2);
  add(PBKDF2, null, PBKDF2, null);
  add(HANDSHAKE, null, HANDSHAKE, null);
  add(CPACE, null, CPACE, HANDSHAKE);
  add(ROOM_JOIN, null, ROOM_JOIN, JOIN);
  add(ROOM_JOIN_PASSWORD, null, ROOM_JOIN_PASSWORD, ROOM_JOIN);
  return out;
}

function printTable(results: CaseResult[], out: Row[]): void {
  const spread = (name: string, bytes: number | null) => results.find((r) => r.name === name && r.bytes === bytes);
  const body = out.map((r) => {
    const measured = r.name === PIPELINE_VS_WEBCRYPTO ? PIPELINE : r.name;
    const s = spread(measured, r.bytes)!;
    return [
      r.name,
      r.bytes === null ? '-' : String(r.bytes),
      fmtRate(r.hz),
      fmtRate(s.cpuHz),
      `${fmtRate(s.cpuMin)} .. ${fmtRate(s.cpuMax)}`,
      fmtMicros(s.cpuHz),
      r.vs === null ? '' : `${r.ratio!.toFixed(3)}x ${r.vs}`,
    ];
  });
  const headers = ['case', 'bytes', 'ops/s (wall)', 'ops/s (CPU)', 'min .. max (CPU)', 'CPU µs/op', 'ratio (CPU)'];
  console.log(table(headers, body, [false, true, true, true, true, true, false]));
}

// --- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
  const batchMs = Number(process.env.BENCH_BATCH_MS ?? 100);
  const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 300);
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined;
  if (!(rounds >= 1) || !(batchMs > 0) || !(warmupMs >= 0)) throw new Error('bad BENCH_ROUNDS / BENCH_BATCH_MS / BENCH_WARMUP_MS');

  const pinning = `${pinToOneCpu()}, ${gcMode()}`;
  await ready();
  // Two groups, run one after the other: the rooms cases (CPace on @noble/curves leaves much BigInt garbage)
  // would otherwise charge their collections to whichever core case runs next. Each group holds the
  // baselines its ratios need (the rooms group measures the handshake and the core join again).
  const core: Case[] = [];
  for (const bytes of SIZES) {
    core.push(pipelineCase(bytes), bareCase(bytes), await webcryptoCase(bytes), broadcastCase(bytes), ...(await broadcastProfileCases(bytes)));
  }
  core.push(joinCase(), pbkdf2Case(), handshakeCase());
  const rooms: Case[] = [handshakeCase(), joinCase(), cpaceCase(), roomJoinCase(undefined), roomJoinCase('correct horse battery staple')];
  const pick = (cases: Case[]) => (only ? cases.filter((c) => only.test(label(c))) : cases);
  const groups = [
    { cases: pick(core), rows: (name: string) => !ROOMS_ROWS.includes(name) },
    { cases: pick(rooms), rows: (name: string) => ROOMS_ROWS.includes(name) },
  ].filter((g) => g.cases.length > 0);
  const cases = groups.flatMap((g) => g.cases);
  if (cases.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no case`);

  const cpus = os.cpus();
  console.log(`sealsig bench: node ${process.version}, ${os.platform()}/${os.arch()}, ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length} CPUs`);
  console.log(`${pinning}; ${cases.length} cases, ${rounds} interleaved rounds, ~${batchMs} ms batches, ${warmupMs} ms warm-up each; payloads are Uint8Arrays`);
  const results: CaseResult[] = []; // a baseline measured in both groups: the first (core) one is shown
  const out: Row[] = [];
  for (const group of groups) {
    const measured = await runInterleaved(group.cases, { rounds, batchMs, warmupMs, seed: 0x5ea151, log: (l) => console.log(l) });
    results.push(...measured);
    // Each row from the group it belongs to, its ratio against the baseline measured in that same group.
    out.push(...rows(measured).filter((row) => group.rows(row.name)));
  }
  console.log('');
  printTable(results, out);
  console.log('\nTargets:');
  printChecks(pipelineTargets(out));

  const outFile = process.env.BENCH_OUT;
  if (outFile !== undefined) {
    writeRows(out, outFile);
    console.log(`\nwrote ${outFile}`);
  } else if (only) {
    console.log('\nBENCH_ONLY is set: bench/results/latest.json not written.');
  } else {
    mergeRows((r) => RUN_ROWS.includes(r.name), out);
    console.log(`\nmerged ${out.length} rows into ${LATEST}`);
  }
  if (sink + broadcastProfileSink() === 42) console.log(''); // keep `sink` observable
}

await main();
