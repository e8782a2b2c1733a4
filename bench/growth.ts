/**
 * `pnpm bench` (after bench/run.ts and bench/relay.ts): how the cost of a session grows with its member count
 * (docs/BENCHMARKS.md, "Growth"; issue 9). Every member runs in this process on one core's MemoryNetwork,
 * which counts frames, deliveries and bytes; packages/core/src/sodium.ts counts the public-key operations.
 * Only the public Session API is used (joinSession, peers, 'peer-joined' / 'peer-left', sendDescription,
 * 'signal', close), so the same file measures protocol v1 and its successors.
 *
 * For each n, on one network: (a) n members join at once, until every member sees every other; (d) one
 * idle heartbeat period; (c) a full mesh, one ~4 KiB SDP offer per ordered pair, until every offer has
 * arrived; then everyone closes. On a second network: (b) n members join one by one, each waiting until it
 * and everyone before it see each other. Every case ends only when the network is idle too (no delivery in
 * flight), so the frames a member sends after the last one it needed (late hello replies) are counted.
 *
 * Time: the sessions read a virtual clock (SessionOptions.now) that stands still during (a), (b) and (c) and
 * moves by exactly one heartbeat period for (d). So nothing expires and no heartbeat is due while a slow
 * case runs (the counts do not depend on the machine's speed), and (d) is exactly one period. Handshake
 * retries run on real timers and are counted whenever they fire inside a case.
 *
 * Environment knobs (all optional):
 *   BENCH_GROWTH_N=2,8,32,64     member counts (128 and 256 on request; protocol v1 needs minutes for 64 and
 *                                much longer beyond: its cost per join grows as n^3)
 *   BENCH_GROWTH_TIMEOUT_S=1800  real-time limit per case; a case that hits it is reported as incomplete
 *   BENCH_GROWTH_ONLY=1          print, do not merge the rows into bench/results/latest.json
 *   BENCH_CPU, BENCH_PIN         as for bench/run.ts (bench/pin.ts)
 */
import os from 'node:os';
import { PROTOCOL_VERSION, createMemoryNetwork, createSessionId, joinSession, ready, type MemoryNetwork, type Session } from '../packages/core/src/index.js';
import { costDrift, floorMs, floorSink, meanCosts, measureUnitCosts, takeCounts } from './floor.js';
import { cpuNowMs, round, table, type Row } from './harness.js';
import { gcMode, pinToOneCpu } from './pin.js';
import { mergeRows, type GrowthRow } from './results-file.js';
import { GROWTH_IDLE, GROWTH_JOIN_AT_ONCE, GROWTH_JOIN_ONE_BY_ONE, GROWTH_MESH, isGrowthRow } from './row-names.js';
import { growthTargets, printChecks } from './targets.js';

/** The heartbeat period of every member, in virtual ms (the housekeeping timer then ticks every 100 real ms). */
const HEARTBEAT_MS = 100;
/** Real time (d) waits after moving the clock: several housekeeping ticks, whatever their period up to 1 s. */
const IDLE_WAIT_MS = Math.max(1_100, 5 * HEARTBEAT_MS);
const TIMEOUT_MS = Number(process.env.BENCH_GROWTH_TIMEOUT_S ?? 1_800) * 1000;
const SIZES = (process.env.BENCH_GROWTH_N ?? '2,8,32,64').split(',').map(Number);
const FRAME_KIND_INIT = 2;

// --- fixtures ---------------------------------------------------------------------------------------------

/**
 * A realistic offer of about 4 KiB (video codec sections are added until it is): what a browser produces for one audio and one video section with a data
 * channel (codecs, feedback, extensions, ICE and DTLS attributes), without candidates (those trickle).
 */
function sdpOffer(targetBytes = 4096): string {
  const lines = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 6f1e1b55-8a43-4f5e-9f64-0e7a3c2b9d10',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Zk3q',
    'a=ice-pwd:v6Yq0bq1m3e4d9F2s7KxR1tZ',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC',
    'a=setup:actpass',
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    'a=msid:6f1e1b55-8a43-4f5e-9f64-0e7a3c2b9d10 0c7b4f0e-2a56-4d8c-b1a1-3f0f8f2e6c11',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    'a=ssrc:3735928559 cname:q2rT9xYbZ0aK1cLd',
    'a=ssrc:3735928559 msid:6f1e1b55-8a43-4f5e-9f64-0e7a3c2b9d10 0c7b4f0e-2a56-4d8c-b1a1-3f0f8f2e6c11',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 127 121 125 107 108 109 124 120 123 119 114 115 116',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Zk3q',
    'a=ice-pwd:v6Yq0bq1m3e4d9F2s7KxR1tZ',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CC:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC',
    'a=setup:actpass',
    'a=mid:1',
    'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:13 urn:3gpp:video-orientation',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
    'a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type',
    'a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing',
    'a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
    'a=sendrecv',
    'a=msid:6f1e1b55-8a43-4f5e-9f64-0e7a3c2b9d10 9a2d3c4b-5e6f-4a1b-8c9d-0e1f2a3b4c5d',
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  const codecs = ['VP8/90000', 'VP9/90000', 'H264/90000', 'AV1/90000', 'H265/90000'];
  let pt = 96;
  for (let i = 0; lines.join('\r\n').length < targetBytes - 200; i++) {
    lines.push(`a=rtpmap:${pt} ${codecs[i % codecs.length]}`);
    for (const fb of ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']) lines.push(`a=rtcp-fb:${pt} ${fb}`);
    if (i % 2 === 1) lines.push(`a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`);
    lines.push(`a=rtpmap:${pt + 1} rtx/90000`, `a=fmtp:${pt + 1} apt=${pt}`);
    pt += 2;
  }
  lines.push(
    'a=ssrc-group:FID 2882400001 2882400002',
    'a=ssrc:2882400001 cname:q2rT9xYbZ0aK1cLd',
    'a=ssrc:2882400002 cname:q2rT9xYbZ0aK1cLd',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=mid:2',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  );
  return lines.join('\r\n') + '\r\n';
}

const SDP = sdpOffer();

/** The sessions' clock: stands still unless moved. */
class VirtualClock {
  #t = Date.now();
  readonly now = (): number => this.#t;
  advance(ms: number): void {
    this.#t += ms;
  }
}

/** Whom a session sees, kept from its events (and its peer list when the watch starts). */
function watchPresence(s: Session): Set<string> {
  const seen = new Set(s.peers.map((p) => p.id));
  s.on('peer-joined', (p) => seen.add(p.id));
  s.on('peer-left', (e) => seen.delete(e.peer.id));
  return seen;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- measuring one case -----------------------------------------------------------------------------------

/**
 * Runs one case with the network's counters and the operation counts started from zero, and measures the unit
 * costs right before and right after it: the machine's speed drifts (on this shared VM by up to half within
 * minutes), so the floor uses the mean of the two, taken around the case's own CPU time.
 */
async function measure(name: string, n: number, net: MemoryNetwork, run: () => Promise<boolean>): Promise<GrowthRow> {
  const before = measureUnitCosts();
  net.resetCounters();
  takeCounts();
  const wall0 = performance.now();
  const cpu0 = cpuNowMs();
  const complete = await run();
  const cpuMs = cpuNowMs() - cpu0;
  const wallMs = performance.now() - wall0;
  const c = net.counters;
  const counters = { ...c, framesByKind: { ...c.framesByKind } };
  const ops = takeCounts();
  const after = measureUnitCosts();
  const costs = meanCosts(before, after);
  const floor = floorMs(ops, costs);
  // The least a join can cost: each member signs one hello, and verifies each other member's once.
  const joining = name === GROWTH_JOIN_AT_ONCE || name === GROWTH_JOIN_ONE_BY_ONE;
  const ideal = joining ? (n * costs.ed25519Sign + n * (n - 1) * costs.ed25519Verify) / 1000 : undefined;
  const inits = counters.framesByKind[FRAME_KIND_INIT] ?? 0;
  const pairs = (n * (n - 1)) / 2;
  return {
    name,
    bytes: null,
    n,
    protocol: PROTOCOL_VERSION,
    hz: round(1000 / cpuMs, 4),
    vs: null,
    ratio: null,
    complete,
    frames: counters.framesPublished,
    deliveries: counters.deliveries,
    bytesPublished: counters.bytesPublished,
    bytesDelivered: counters.bytesDelivered,
    framesByKind: counters.framesByKind,
    inits,
    initsPerPair: pairs === 0 ? 0 : round(inits / pairs, 4),
    cpuMs: round(cpuMs),
    cpuMsPerMember: round(cpuMs / n, 2),
    wallMs: round(wallMs),
    signs: ops.ed25519Sign,
    verifies: ops.ed25519Verify,
    ed25519KeyPairs: ops.ed25519KeyPair,
    x25519: ops.x25519,
    x25519KeyPairs: ops.x25519KeyPair,
    floorMs: round(floor),
    cpuOverFloor: round(cpuMs / floor, 3),
    ...(ideal === undefined ? {} : { idealFloorMs: round(ideal), cpuOverIdeal: round(cpuMs / ideal, 3) }),
    unitUs: Object.fromEntries(Object.entries(costs).map(([k, v]) => [k, round(v, 2)])),
    unitDrift: round(costDrift(before, after), 3),
  };
}

// --- the cases --------------------------------------------------------------------------------------------

interface Group {
  net: MemoryNetwork;
  sessions: Session[];
  seen: Set<string>[];
}

function joinOptions(net: MemoryNetwork, sessionId: string, clock: VirtualClock) {
  return { sessionId, transport: net.connect(), heartbeatMs: HEARTBEAT_MS, now: clock.now };
}

/** (a) n members call joinSession at once; ends when each sees the n - 1 others and the network is idle. */
async function joinAtOnce(net: MemoryNetwork, n: number, clock: VirtualClock): Promise<[GrowthRow, Group]> {
  const sessionId = createSessionId();
  const group: Group = { net, sessions: [], seen: [] };
  const row = await measure(GROWTH_JOIN_AT_ONCE, n, net, async () => {
    group.sessions = await Promise.all(Array.from({ length: n }, () => joinSession(joinOptions(net, sessionId, clock))));
    group.seen = group.sessions.map(watchPresence);
    return waitUntil(() => net.inFlight === 0 && group.seen.every((s) => s.size === n - 1));
  });
  return [row, group];
}

/** (b) n members join one after another, each once the previous one and everyone before it see each other. */
async function joinOneByOne(n: number, clock: VirtualClock): Promise<[GrowthRow, Group]> {
  const net = createMemoryNetwork();
  const sessionId = createSessionId();
  const group: Group = { net, sessions: [], seen: [] };
  const row = await measure(GROWTH_JOIN_ONE_BY_ONE, n, net, async () => {
    for (let k = 0; k < n; k++) {
      const s = await joinSession(joinOptions(net, sessionId, clock));
      group.sessions.push(s);
      group.seen.push(watchPresence(s));
      if (!(await waitUntil(() => net.inFlight === 0 && group.seen.every((seen) => seen.size === k)))) return false;
    }
    return true;
  });
  return [row, group];
}

/** (d) The clock moves by one heartbeat period; ends after several housekeeping ticks, once the network is idle. */
async function idlePeriod(g: Group, clock: VirtualClock): Promise<GrowthRow> {
  const n = g.sessions.length;
  return measure(GROWTH_IDLE, n, g.net, async () => {
    clock.advance(HEARTBEAT_MS);
    await sleep(IDLE_WAIT_MS);
    return waitUntil(() => g.net.inFlight === 0 && g.seen.every((s) => s.size === n - 1));
  });
}

/** (c) Every member sends one SDP offer to every other; ends when all n(n - 1) have arrived and the network is idle. */
async function mesh(g: Group): Promise<GrowthRow> {
  const n = g.sessions.length;
  const expected = n * (n - 1);
  let received = 0;
  let failed = 0;
  for (const s of g.sessions) s.on('signal', (e) => (received += e.description?.type === 'offer' ? 1 : 0));
  return measure(GROWTH_MESH, n, g.net, async () => {
    for (const s of g.sessions) {
      for (const p of s.peers) s.sendDescription(p.id, { type: 'offer', sdp: SDP }).catch(() => failed++);
    }
    const done = await waitUntil(() => received + failed === expected && g.net.inFlight === 0);
    return done && failed === 0;
  });
}

async function closeAll(g: Group): Promise<void> {
  await Promise.all(g.sessions.map((s) => s.close()));
  await g.net.settle();
}

// --- output -----------------------------------------------------------------------------------------------

const int = (x: number) => Math.round(x).toLocaleString('en-US');

function printRows(rows: GrowthRow[]): void {
  const body = rows.map((r) => [
    r.name.replace('growth: ', ''),
    String(r.n),
    r.complete ? '' : 'INCOMPLETE',
    int(r.frames),
    int(r.deliveries),
    int(r.bytesPublished),
    int(r.bytesDelivered),
    int(r.inits),
    r.initsPerPair.toFixed(2),
    int(r.cpuMs),
    r.cpuMsPerMember.toFixed(1),
    `${int(r.signs)}/${int(r.verifies)}/${int(r.x25519 + r.x25519KeyPairs)}`,
    int(r.floorMs),
    `${r.cpuOverFloor.toFixed(2)}x`,
    r.cpuOverIdeal === undefined ? '' : `${r.cpuOverIdeal.toFixed(2)}x`,
  ]);
  const headers = ['case', 'n', '', 'frames', 'deliveries', 'bytes out', 'bytes in', 'inits', '/pair', 'CPU ms', '/member', 'sign/verify/X25519', 'floor ms', 'CPU/floor', 'CPU/ideal'];
  console.log(table(headers, body, [false, true, false, true, true, true, true, true, true, true, true, true, true, true, true]));
}

async function main(): Promise<void> {
  if (!SIZES.every((n) => Number.isInteger(n) && n >= 2)) throw new Error('BENCH_GROWTH_N: a comma-separated list of integers >= 2');
  const pinning = `${pinToOneCpu()}, ${gcMode()}`;
  await ready();
  const cpus = os.cpus();
  console.log(`sealsig growth bench: protocol v${PROTOCOL_VERSION}; node ${process.version}, ${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}; ${pinning}; n = ${SIZES.join(', ')}`);
  console.log(`SDP offer: ${SDP.length} bytes; heartbeat period ${HEARTBEAT_MS} ms (virtual clock)`);
  // Warm-up, not reported: one small round, so that n = 2 does not pay for compiling the session code.
  const [, warm] = await joinAtOnce(createMemoryNetwork(), 4, new VirtualClock());
  await mesh(warm);
  await closeAll(warm);

  const rows: GrowthRow[] = [];
  for (const n of SIZES) {
    const t0 = performance.now();
    const clock = new VirtualClock();
    const [joined, group] = await joinAtOnce(createMemoryNetwork(), n, clock);
    rows.push(joined);
    if (joined.complete) {
      rows.push(await idlePeriod(group, clock));
      rows.push(await mesh(group));
    }
    await closeAll(group);
    const [oneByOne, second] = await joinOneByOne(n, new VirtualClock());
    rows.push(oneByOne);
    await closeAll(second);
    console.log(`  n = ${n} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  console.log('');
  printRows(rows);
  console.log(`\nTargets (issues 9 and 17), protocol v${PROTOCOL_VERSION}:`);
  printChecks(growthTargets(rows));

  if (process.env.BENCH_GROWTH_ONLY === '1') {
    console.log('\nBENCH_GROWTH_ONLY=1: bench/results/latest.json not written.');
  } else {
    // Replace the rows of this protocol version and the member counts measured now; keep the others (another
    // protocol version's, or a 128/256 run on request).
    const measured = new Set(SIZES);
    const replaced = (r: Row) => isGrowthRow(r.name) && (r as GrowthRow).protocol === PROTOCOL_VERSION && measured.has((r as GrowthRow).n);
    mergeRows(replaced, rows);
    console.log(`\nmerged ${rows.length} growth rows into bench/results/latest.json`);
  }
  if (floorSink() === 42) console.log('');
}

await main();
