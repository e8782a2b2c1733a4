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
import { freePorts, healthz, sleep, spawnRedisServer, spawnRelayCli, waitUntil, type Proc } from './helpers.js';

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
  t.onGap((topic) => gaps.push(topic));
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
  ms: number;
}

/**
 * Subscribes every subscriber (confirmed by the relay) and then starts the publishers; stop() ends publishing,
 * waits until every publisher's queue is acknowledged and every subscriber has every accepted frame (or
 * `quietMs` pass without a new frame after the queues drained), and counts.
 */
async function traffic(publishers: Client[], subscribers: Client[], intervalMs = 4) {
  const started = Date.now();
  const received = subscribers.map(() => new Map<string, number>());
  await Promise.all(
    subscribers.map((s, i) =>
      s.subscribe(TOPIC, (frame) => {
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
      p.publish(TOPIC, new TextEncoder().encode(key)).then(
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
        gaps: subscribers.map((s) => s.gaps.filter((t) => t === TOPIC).length),
        ms: Date.now() - started,
      };
    },
  };
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
    const nodes = await Promise.all(nodePorts.map((p) => spawnRelayCli(p, ['--redis', redis.url]).then(keep)));
    const urls = nodes.map((n) => n.url);
    // Node 0 is killed: publisher 0 and subscribers 0 and 3 are on it.
    const publishers = [transport(spread(urls, 0)), transport(spread(urls, 1))];
    const subscribers = [0, 1, 2, 3].map((i) => transport(spread(urls, i)));
    const t = await traffic(publishers, subscribers);
    await waitUntil(() => t.total() >= 4 * 200, 30_000, 'traffic flows');
    await nodes[0]!.kill('SIGKILL');
    const atKill = t.accepted();
    await sleep(2_000); // publishing goes on
    expect(t.accepted()).toBeGreaterThan(atKill + 100);
    const counts = await t.stop();
    report('1 node SIGKILL', counts);
    expect(subscribers[0]!.url).not.toBe(urls[0]);
    expect(publishers[0]!.url).not.toBe(urls[0]);
    expect(counts.otherRejections).toEqual([]);
    expect(counts.lostBy).toEqual([0, 0, 0, 0]);
    expect(counts.accepted).toBeGreaterThan(1000);
  }, 180_000);
});
