/**
 * Two relay nodes (separate processes) fanned out through one real redis-server. Alice's client is on
 * node 1, Bob's on node 2 with node 1 second in its URL list. The sessions meet across the nodes and Alice
 * sends her offer; then node 2 is killed (SIGKILL) mid-negotiation. Bob's client reconnects to node 1,
 * restores its subscription and flushes what Bob sent meanwhile; the answer and the candidates of both
 * sides complete. Skipped only where redis-server is missing and this is not CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSessionId, joinSession, type IceCandidate, type Session, type SessionEvents } from '@sealsig/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type WebSocketTransport } from '../src/index.js';
import { startRedis, waitUntil } from './helpers.js';

const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const FIXTURE = fileURLToPath(new URL('./fixtures/relay-node.ts', import.meta.url));

interface Node {
  child: ChildProcess;
  url: string;
}

function startNode(redisUrl: string): Promise<Node> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', FIXTURE, redisUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`relay node did not start: ${err}`))), 20_000);
    child.stderr!.on('data', (d) => (err += String(d)));
    child.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve({ child, url: `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/` });
      }
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`relay node exited (${code}): ${err}`))));
  });
}

function kill(node: Node | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return resolve();
    node.child.once('exit', () => resolve());
    node.child.kill('SIGKILL');
  });
}

function next<K extends keyof SessionEvents>(s: Session, type: K, ms = 15_000): Promise<SessionEvents[K]> {
  return new Promise((resolve, reject) => {
    const off = s.once(type, (e) => (clearTimeout(timer), resolve(e)));
    const timer = setTimeout(() => (off(), reject(new Error(`timed out waiting for '${String(type)}'`))), ms);
  });
}

/** Collects `signal` events until `n` arrived. */
function signals(s: Session, n: number, ms = 15_000): Promise<SessionEvents['signal'][]> {
  const got: SessionEvents['signal'][] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error(`got ${got.length} of ${n} signals`))), ms);
    const off = s.on('signal', (e) => {
      got.push(e);
      if (got.length === n) (clearTimeout(timer), off(), resolve(got));
    });
  });
}

const candidate = (n: number): IceCandidate => ({ candidate: `candidate:${n} 1 udp 2122260223 198.18.0.${n} 5440${n} typ host`, sdpMid: '0', sdpMLineIndex: 0 });

describe.skipIf(!hasRedis && !process.env.CI)('two relay nodes on one redis-server', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let node1: Node | undefined;
  let node2: Node | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    [node1, node2] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await Promise.all([kill(node1), kill(node2)]);
    await redis?.stop();
  });

  it('negotiates across nodes; a node killed mid-negotiation is replaced by the next URL', async () => {
    const transports: WebSocketTransport[] = [
      createWebSocketTransport({ urls: [node1!.url], minReconnectDelayMs: 50, maxReconnectDelayMs: 500 }),
      createWebSocketTransport({ urls: [node2!.url, node1!.url], minReconnectDelayMs: 50, maxReconnectDelayMs: 500 }),
    ];
    for (const t of transports) closers.push(() => t.close());
    const [ta, tb] = transports as [WebSocketTransport, WebSocketTransport];
    const sessionId = createSessionId();
    const alice = await joinSession({ sessionId, transport: ta });
    const bob = await joinSession({ sessionId, transport: tb });
    closers.push(() => alice.close(), () => bob.close());
    await waitUntil(() => alice.peers.length === 1 && bob.peers.length === 1, 15_000, 'alice and bob meet across the nodes');

    const offer = next(bob, 'signal');
    await alice.sendDescription(bob.id, { type: 'offer', sdp: 'v=0\r\no=alice\r\n' });
    expect((await offer).description).toEqual({ type: 'offer', sdp: 'v=0\r\no=alice\r\n' });

    const bobStates: string[] = [];
    tb.onStateChange((s) => bobStates.push(s));
    await kill(node2); // mid-negotiation: no answer yet
    await waitUntil(() => tb.state !== 'open', 10_000, "bob's client notices");

    const atAlice = signals(alice, 3);
    const atBob = signals(bob, 2);
    // Bob answers while disconnected: queued, flushed on node 1 after his subscription is restored.
    await bob.sendDescription(alice.id, { type: 'answer', sdp: 'v=0\r\no=bob\r\n' });
    await bob.sendCandidate(alice.id, candidate(2));
    await alice.sendCandidate(bob.id, candidate(1)); // reaches bob via node 1 (retained until he is back)
    await alice.sendCandidate(bob.id, null);
    await waitUntil(() => tb.state === 'open', 15_000, 'bob reconnected');
    expect(tb.url).toBe(node1!.url);
    await bob.sendCandidate(alice.id, null);

    const gotAlice = await atAlice;
    const gotBob = await atBob;
    expect(gotAlice.map((s) => s.description ?? s.candidate)).toEqual([{ type: 'answer', sdp: 'v=0\r\no=bob\r\n' }, candidate(2), null]);
    expect(gotBob.map((s) => s.candidate)).toEqual([candidate(1), null]);
    expect(bobStates).toContain('reconnecting');
    expect(bobStates.at(-1)).toBe('open');
  });
});
