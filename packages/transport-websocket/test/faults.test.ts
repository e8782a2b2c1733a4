/**
 * Issue 11, "nothing lost when a relay node, Redis, or the relay itself goes down", as real processes: relay
 * nodes are the `sealsig-relay` CLI (spawned with tsx), Redis is a real redis-server, clients are websocket
 * transports in this process. Nothing is timed: every wait is for a condition, with generous timeouts.
 *
 * Traffic: publishers send continuously (a frame every few ms, `<publisher>:<n>`), subscribers count what
 * they receive. A frame is accepted when publish() resolved, refused when it rejected with E_QUEUE_FULL
 * (counted apart: the app was told); lost = accepted and never received by a subscriber that was subscribed
 * before the publishers started and throughout. Duplicates are allowed at the transport level (a frame whose
 * ACK died with a node is sent again) and counted. Each case logs one `faults:` JSON line with its counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSessionId, joinSession, SealsigError, type Session, type SessionOptions } from '@sealsig/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type TransportEvent, type WebSocketTransport, type WebSocketTransportOptions } from '../src/index.js';
import { freePorts, healthz, metric, sleep, spawnRedisServer, spawnRelayCli, waitUntil, type Proc } from './helpers.js';

const TOPIC = 'faults-topic';
const FAST: Partial<WebSocketTransportOptions> = { minReconnectDelayMs: 50, maxReconnectDelayMs: 500, connectTimeoutMs: 5_000 };

const cleanups: (() => Promise<unknown>)[] = [];
const procs: Proc[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
});

function keep<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

function transport(urls: string[], extra: Partial<WebSocketTransportOptions> = {}): WebSocketTransport & { events: TransportEvent[]; gaps: string[] } {
  const events: TransportEvent[] = [];
  const gaps: string[] = [];
  const t = createWebSocketTransport({ urls, ...FAST, ...extra, onError: (e) => events.push(e) });
  t.onGap?.((topic) => gaps.push(topic)); // optional in the Transport contract, always there on this one
  cleanups.push(() => t.close());
  return Object.assign(t, { events, gaps });
}

/** `urls` rotated so that the `i`-th client lists node `i % n` first (clients spread across the nodes). */
const spread = (urls: string[], i: number): string[] => urls.map((_, k) => urls[(i + k) % urls.length]!);

type Client = ReturnType<typeof transport>;

interface Counts {
  accepted: number;
  refused: number;
  otherRejections: string[];
  /** Frames received, over all subscribers (duplicates included). */
  received: number;
  duplicates: number;
  /** Accepted frames some subscriber never received, summed over subscribers. */
  lost: number;
  /** Lost frames per subscriber. */
  lostBy: number[];
  /** Gap events per subscriber. */
  gaps: number[];
  /** Close codes of lost connections, over publishers and subscribers. */
  closeCodes: number[];
  ms: number;
}

/**
 * Subscribes every subscriber (confirmed by the relay) and then starts the publishers, each below the relay's
 * default rate limit (100 frames/s per connection; a frame every `intervalMs` ms, ~85/s with timer overhead:
 * faster publishers get NACK 2 and, once 200 are refused within 10 s, close 4008, which is not the fault under
 * test); stop() ends publishing,
 * waits until every publisher's queue is acknowledged and every subscriber has every accepted frame (or
 * `quietMs` pass without a new frame after the queues drained), and counts.
 */
async function traffic(publishers: Client[], subscribers: Client[], topic = TOPIC, intervalMs = 10) {
  const started = Date.now();
  const received = subscribers.map(() => new Map<string, number>());
  await Promise.all(
    subscribers.map((s, i) =>
      s.subscribe(topic, (frame) => {
        const key = new TextDecoder().decode(frame);
        received[i]!.set(key, (received[i]!.get(key) ?? 0) + 1);
      }),
    ),
  );
  const accepted = new Set<string>();
  let refused = 0;
  const otherRejections: string[] = [];
  let stopped = false;
  const loops = publishers.map(async (p, n) => {
    for (let seq = 0; !stopped; seq++) {
      const key = `p${n}:${seq}`;
      p.publish(topic, new TextEncoder().encode(key)).then(
        () => accepted.add(key),
        (e: unknown) => {
          if (e instanceof SealsigError && e.code === 'E_QUEUE_FULL') refused++;
          else otherRejections.push(String(e));
        },
      );
      await sleep(intervalMs);
    }
  });
  const total = () => received.reduce((sum, m) => sum + m.size, 0);
  return {
    accepted: () => accepted.size,
    total,
    async stop(quietMs = 10_000): Promise<Counts> {
      stopped = true;
      await Promise.all(loops);
      await sleep(50); // the last publish() promises settle
      await waitUntil(() => publishers.every((p) => p.queuedFrames === 0), 60_000, 'every publisher queue acknowledged');
      const complete = () => received.every((m) => [...accepted].every((k) => m.has(k)));
      let last = total();
      let lastChange = Date.now();
      while (!complete() && Date.now() - lastChange < quietMs) {
        await sleep(50);
        if (total() !== last) (last = total()), (lastChange = Date.now());
      }
      await sleep(300); // late duplicates
      const lostBy = received.map((m) => [...accepted].filter((k) => !m.has(k)).length);
      let duplicates = 0;
      let count = 0;
      for (const m of received) for (const c of m.values()) (count += c), (duplicates += c - 1);
      return {
        accepted: accepted.size,
        refused,
        otherRejections,
        received: count,
        duplicates,
        lost: lostBy.reduce((a, b) => a + b, 0),
        lostBy,
        gaps: subscribers.map((s) => s.gaps.filter((t) => t === topic).length),
        closeCodes: [...publishers, ...subscribers].flatMap((c) => c.events.flatMap((e) => (e.type === 'connection-lost' && e.closeCode !== undefined ? [e.closeCode] : []))),
        ms: Date.now() - started,
      };
    },
  };
}

/** Relay CLI nodes on one Redis, one per port. */
async function relayNodes(redisUrl: string, ports: number[]): Promise<{ nodes: Proc[]; urls: string[] }> {
  const nodes = await Promise.all(ports.map((p) => spawnRelayCli(p, ['--redis', redisUrl]).then(keep)));
  return { nodes, urls: nodes.map((n) => n.url) };
}

/** Two publishers and four subscribers, each starting on a different node, once their traffic flows. */
async function flowingTraffic(urls: string[]) {
  const publishers = [transport(spread(urls, 0)), transport(spread(urls, 1))];
  const subscribers = [0, 1, 2, 3].map((i) => transport(spread(urls, i)));
  const t = await traffic(publishers, subscribers);
  await waitUntil(() => t.total() >= 4 * 200, 30_000, 'traffic flows');
  return { publishers, subscribers, t };
}

function report(name: string, counts: object): void {
  console.log(`faults: ${JSON.stringify({ case: name, ...counts })}`);
}

/** Two sessions on one session id, each on its own transport, once they see each other. */
async function sessionPair(ta: WebSocketTransport, tb: WebSocketTransport, options: Partial<SessionOptions> = {}): Promise<[Session, Session]> {
  const sessionId = createSessionId();
  const [a, b] = await Promise.all([joinSession({ sessionId, transport: ta, ...options }), joinSession({ sessionId, transport: tb, ...options })]);
  cleanups.push(() => a.close(), () => b.close());
  await waitUntil(() => a.peers.some((p) => p.id === b.id) && b.peers.some((p) => p.id === a.id), 30_000, 'the sessions see each other');
  return [a, b];
}

/** a sends b a direct message and b receives it (sent again until it arrives: a send may fail while channels restart). */
async function exchange(a: Session, b: Session, value: string, timeoutMs = 30_000): Promise<void> {
  let got = false;
  const off = b.on('message', (m) => {
    if (m.from.id === a.id && m.value === value && !m.broadcast) got = true;
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (!got) {
      if (Date.now() > deadline) throw new Error(`${value} did not arrive`);
      await a.send(b.id, value).catch(() => undefined);
      const until = Date.now() + 2_000;
      while (!got && Date.now() < until) await sleep(20);
    }
  } finally {
    off();
  }
}

describe('faults (real processes)', () => {
  it('1: three relay nodes on one Redis, one node killed (SIGKILL) mid-stream: nothing lost', async () => {
    const [redisPort, ...nodePorts] = await freePorts(4);
    const redis = keep(await spawnRedisServer(redisPort!));
    const { nodes, urls } = await relayNodes(redis.url, nodePorts);
    // Node 0 is killed: publisher 0 and subscribers 0 and 3 are on it.
    const { publishers, subscribers, t } = await flowingTraffic(urls);
    await nodes[0]!.kill('SIGKILL');
    const atKill = t.accepted();
    await sleep(2_000); // publishing goes on
    expect(t.accepted()).toBeGreaterThan(atKill + 100);
    const counts = await t.stop();
    report('1 node SIGKILL', counts);
    expect(subscribers[0]!.url).not.toBe(urls[0]);
    expect(publishers[0]!.url).not.toBe(urls[0]);
    expect(counts.otherRejections).toEqual([]);
    expect(counts.closeCodes).not.toContain(4008); // within the rate limit: only the fault disconnects
    expect(counts.lostBy).toEqual([0, 0, 0, 0]);
    expect(counts.accepted).toBeGreaterThan(300);
  }, 180_000);

  it('2: Redis with appendonly stopped gracefully mid-stream and restarted on its port: nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealsig-faults-aof-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const [redisPort, ...nodePorts] = await freePorts(3);
    let redis = keep(await spawnRedisServer(redisPort!, { appendonly: true, dir }));
    const { nodes, urls } = await relayNodes(redis.url, nodePorts);
    const { t } = await flowingTraffic(urls);
    await redis.kill('SIGTERM'); // graceful: SHUTDOWN, the AOF is complete
    await eventually(() => healthzDown(nodes), 30_000, 'the nodes notice');
    const atStop = t.accepted();
    await sleep(2_000);
    redis = keep(await spawnRedisServer(redisPort!, { appendonly: true, dir }));
    await waitUntil(() => t.accepted() > atStop + 200, 60_000, 'publishing goes on after the restart');
    const counts = await t.stop();
    const nack7 = await dropped(nodes, 'unavailable');
    report('2 redis SIGTERM + restart (appendonly)', { ...counts, nack7, nack2: await dropped(nodes, 'rate_limited') });
    expect(nack7).toBeGreaterThan(0); // publishes while Redis was down were refused (NACK 7) and sent again
    expect(counts.otherRejections).toEqual([]);
    expect(counts.closeCodes).not.toContain(4008); // within the rate limit: only the fault disconnects
    expect(counts.lostBy).toEqual([0, 0, 0, 0]);
    expect(counts.gaps).toEqual([0, 0, 0, 0]); // the streams survived: every subscription resumed
  }, 180_000);

  it('3: Redis killed (SIGKILL) without persistence and restarted: subscribers get a gap, a session pair recovers', async () => {
    const [redisPort, ...nodePorts] = await freePorts(3);
    let redis = keep(await spawnRedisServer(redisPort!));
    const { nodes, urls } = await relayNodes(redis.url, nodePorts);
    const ta = transport(spread(urls, 0));
    const tb = transport(spread(urls, 1));
    const [a, b] = await sessionPair(ta, tb, { heartbeatMs: 500 });
    await exchange(a, b, 'before');
    const { subscribers, t } = await flowingTraffic(urls);
    await redis.kill('SIGKILL');
    await eventually(() => healthzDown(nodes), 30_000, 'the nodes notice');
    await sleep(1_000);
    redis = keep(await spawnRedisServer(redisPort!));
    await waitUntil(() => subscribers.every((s) => s.gaps.includes(TOPIC)), 60_000, 'every subscriber hears of the gap');
    const counts = await t.stop();
    report('3 redis SIGKILL + restart (no persistence)', {
      ...counts,
      nack7: await dropped(nodes, 'unavailable'),
      nack2: await dropped(nodes, 'rate_limited'),
      sessionGaps: [a.stats.gaps, b.stats.gaps],
    });
    expect(counts.otherRejections).toEqual([]);
    expect(counts.closeCodes).not.toContain(4008); // within the rate limit: only the fault disconnects
    for (const s of subscribers) {
      expect(s.events.some((e) => e.type === 'gap' && e.topic === TOPIC && e.error.code === 'E_TRANSPORT')).toBe(true);
    }
    await exchange(a, b, 'after a to b');
    await exchange(b, a, 'after b to a');
    expect(a.stats.gaps + b.stats.gaps).toBeGreaterThan(0);
  }, 180_000);

  it('4: one memory relay stopped (SIGTERM) and restarted loses nothing; killed (SIGKILL) and restarted, whoever lost got a gap', async () => {
    const [port] = await freePorts(1);
    let relay = keep(await spawnRelayCli(port!));
    const urls = [relay.url];
    const publishers = [transport(urls), transport(urls)];
    const subscribers = [0, 1, 2, 3].map(() => transport(urls));
    const [a, b] = await sessionPair(transport(urls), transport(urls), { heartbeatMs: 500 });

    const t1 = await traffic(publishers, subscribers, 'faults-sigterm');
    await waitUntil(() => t1.total() >= 4 * 200, 30_000, 'traffic flows');
    await relay.kill('SIGTERM');
    expect(relay.child.exitCode).toBe(0);
    relay = keep(await spawnRelayCli(port!));
    const atRestart = t1.accepted();
    await waitUntil(() => t1.accepted() > atRestart + 200, 60_000, 'publishing goes on after the restart');
    const c1 = await t1.stop();
    report('4a memory relay SIGTERM + restart', c1);
    expect(c1.otherRejections).toEqual([]);
    expect(c1.closeCodes).not.toContain(4008);
    expect(c1.lostBy).toEqual([0, 0, 0, 0]);

    const t2 = await traffic(publishers, subscribers, 'faults-sigkill');
    await waitUntil(() => t2.total() >= 4 * 200, 30_000, 'traffic flows');
    await relay.kill('SIGKILL');
    relay = keep(await spawnRelayCli(port!));
    const atRestart2 = t2.accepted();
    await waitUntil(() => t2.accepted() > atRestart2 + 200, 60_000, 'publishing goes on after the restart');
    const c2 = await t2.stop();
    report('4b memory relay SIGKILL + restart', c2);
    expect(c2.otherRejections).toEqual([]);
    expect(c2.closeCodes).not.toContain(4008);
    c2.lostBy.forEach((lost, i) => {
      if (lost > 0) expect(c2.gaps[i]).toBeGreaterThan(0);
    });
    await exchange(a, b, 'after the crash, a to b');
    await exchange(b, a, 'after the crash, b to a');
  }, 240_000);

  it('5: an outage longer than the handshake give-up and the peer timeout: peer-left (timeout), then peer-joined again', async () => {
    const [port] = await freePorts(1);
    let relay = keep(await spawnRelayCli(port!));
    const ta = transport([relay.url]);
    const tb = transport([relay.url]);
    const opts = { heartbeatMs: 300, peerTimeoutMs: 1_500, handshakeTimeoutMs: 1_000, handshakeRetryMs: 200 };
    const [a, b] = await sessionPair(ta, tb, opts);
    await exchange(a, b, 'before');
    const seen: Record<'a' | 'b', { left: string[]; presence: string[]; errors: string[]; messages: unknown[] }> = {
      a: { left: [], presence: [], errors: [], messages: [] },
      b: { left: [], presence: [], errors: [], messages: [] },
    };
    for (const [name, s] of [['a', a], ['b', b]] as const) {
      s.on('peer-left', (e) => (seen[name].left.push(e.reason), seen[name].presence.push(`left ${e.reason}`)));
      s.on('peer-joined', () => seen[name].presence.push('joined'));
      s.on('error', (e) => seen[name].errors.push(`${e.code}: ${e.message}`));
      s.on('message', (m) => seen[name].messages.push(m.value));
    }
    await sleep(0); // a 'peer-joined' listener hears of the live peer in a microtask
    expect(seen.a.presence).toEqual(['joined']);
    expect(seen.b.presence).toEqual(['joined']);
    await relay.kill('SIGKILL');
    const started = Date.now();
    // A message to a peer whose channel is up: sealed and handed to the transport, which queues it.
    await expect(a.send(b.id, 'during')).resolves.toBeUndefined();
    // Down longer than peerTimeoutMs: each side drops the other (no hello arrives), 'timeout'.
    await waitUntil(() => seen.a.left.length > 0 && seen.b.left.length > 0, 30_000, 'peer-left on both sides');
    await sleep(opts.handshakeTimeoutMs + 500); // and longer than the handshake give-up
    expect(seen.a.left).toEqual(['timeout']);
    expect(seen.b.left).toEqual(['timeout']);
    expect(a.peers).toEqual([]);
    expect(b.peers).toEqual([]);
    // A send to the peer that left is refused at once.
    await expect(a.send(b.id, 'after-left')).rejects.toMatchObject({ code: 'E_UNKNOWN_PEER' });
    // Heartbeats wait in the transports' queues: far from E_QUEUE_FULL.
    expect(ta.queuedFrames).toBeGreaterThan(0);
    expect(ta.queuedFrames).toBeLessThan(256);
    expect(ta.state).toBe('reconnecting');
    const outageMs = Date.now() - started;

    relay = keep(await spawnRelayCli(port!));
    // The relay restarted with a new epoch: every subscription resumes with a gap, core announces itself again.
    await waitUntil(() => seen.a.presence.length === 3 && seen.b.presence.length === 3, 30_000, 'peer-joined again on both sides');
    expect(seen.a.presence).toEqual(['joined', 'left timeout', 'joined']);
    expect(seen.b.presence).toEqual(['joined', 'left timeout', 'joined']);
    await exchange(a, b, 'after a to b');
    await exchange(b, a, 'after b to a');
    for (const t of [ta, tb]) expect(new Set(t.gaps)).toEqual(new Set([a.topic, t === ta ? a.inbox : b.inbox]));
    expect(a.stats.gaps).toBeGreaterThan(0);
    expect(b.stats.gaps).toBeGreaterThan(0);
    expect(seen.a.errors).toEqual([]);
    expect(seen.b.errors).toEqual([]);
    report('5 outage longer than handshake give-up', {
      outageMs,
      left: seen,
      gaps: [ta.gaps, tb.gaps],
      duringDelivered: seen.b.messages.includes('during'),
      bMessages: seen.b.messages,
    });
  }, 120_000);

  it('6: a relay started with --redis while redis-server is down waits (healthz 503), then serves once it is up', async () => {
    const [redisPort, relayPort] = await freePorts(2);
    const relay = keep(await spawnRelayCli(relayPort!, ['--redis', `redis://127.0.0.1:${redisPort}`]));
    const down = await healthz(relayPort!);
    expect(down?.status).toBe(503);
    expect(down?.body).toMatch(/redis unavailable: .+/);
    await sleep(1_500);
    expect(relay.child.exitCode).toBe(null);
    expect((await healthz(relayPort!))?.status).toBe(503);
    keep(await spawnRedisServer(redisPort!));
    await eventually(async () => (await healthz(relayPort!))?.status === 200, 30_000, 'healthz 200');
    const sub = transport([relay.url]);
    const pub = transport([relay.url]);
    const got: string[] = [];
    await sub.subscribe('after-redis', (f) => got.push(new TextDecoder().decode(f)));
    await pub.publish('after-redis', new TextEncoder().encode('hello'));
    await waitUntil(() => got.length > 0, 30_000, 'the frame arrives');
    expect(got).toEqual(['hello']);
  }, 120_000);
});

/** Waits until an asynchronous condition holds (checked every 50 ms). */
async function eventually(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** PUBLISH/SUBSCRIBE refusals of every node for `reason` (relay /metrics drops_total). */
async function dropped(nodes: Proc[], reason: string): Promise<number> {
  const counts = await Promise.all(nodes.map((n) => metric(n.port, `sealsig_relay_drops_total{reason="${reason}"}`)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Every node answers /healthz 503 (its engine is unavailable). */
async function healthzDown(nodes: Proc[]): Promise<boolean> {
  const answers = await Promise.all(nodes.map((n) => healthz(n.port)));
  return answers.every((a) => a?.status === 503);
}
