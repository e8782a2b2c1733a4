/**
 * Protocol version 2 (issue 9, "What v2 must do"): inbox topics, directed hello replies, one initiator per
 * pair with init requests, the gap signal, and peer metadata. Counts come from the memory network.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url } from '../src/bytes.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, encodeFrame, encodeHeader } from '../src/envelope.js';
import type { SealsigError } from '../src/errors.js';
import { createSessionId } from '../src/kdf.js';
import { createMemoryNetwork, passThrough, type MemoryNetwork } from '../src/memory-transport.js';
import { MAX_META_BYTES, joinSession, type Session, type SessionOptions } from '../src/session.js';
import { ed25519KeyPair, randomBytes, ready, x25519KeyPair } from '../src/sodium.js';
import type { Transport } from '../src/transport.js';
import { sealHelloAs, waitFor } from './helpers.js';

beforeAll(ready);

const open: Session[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function join(net: MemoryNetwork, sessionId: string, opts: Partial<SessionOptions> = {}, transport = net.connect()): Promise<Session> {
  const s = await joinSession({ sessionId, transport, ...opts });
  open.push(s);
  return s;
}

async function group(n: number, opts: Partial<SessionOptions> = {}) {
  const net = createMemoryNetwork();
  const sessionId = createSessionId();
  const members: Session[] = [];
  for (let i = 0; i < n; i++) members.push(await join(net, sessionId, opts));
  await waitFor(() => members.every((m) => m.peers.length === n - 1));
  await net.settle();
  return { net, sessionId, members };
}

const bytes = (b64: string) => fromBase64Url(b64)!;
const lowerFirst = (x: Session, y: Session): [Session, Session] => (Buffer.compare(bytes(x.id), bytes(y.id)) < 0 ? [x, y] : [y, x]);
const kindOf = (frame: Uint8Array) => decodeFrame(frame).header.kind;

describe('inbox topics (§3.6)', () => {
  it('are the session topic, "_" and 22 characters, one per instance, and the same for every member computing them', async () => {
    const { members } = await group(3);
    for (const m of members) {
      expect(m.inbox).toMatch(/^[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{22}$/);
      expect(m.inbox.startsWith(`${m.topic}_`)).toBe(true);
    }
    expect(new Set(members.map((m) => m.inbox)).size).toBe(3);
  });

  it('a direct frame reaches its recipient alone', async () => {
    const { net, members } = await group(3);
    const [a, b, c] = members as [Session, Session, Session];
    const before = { c: c.stats.framesIn, deliveries: net.counters.deliveries, seq: net.log.length };
    const got = new Promise((r) => b.once('message', (m) => r(m.value)));
    await a.send(b.id, 'for b only');
    expect(await got).toBe('for b only');
    await net.settle();
    expect(c.stats.framesIn).toBe(before.c);
    expect(c.stats.notForMe).toBe(0);
    // Handshake (init request or not) and messages: every delivery went to a or b, none echoed.
    const handshake = net.log.slice(before.seq).filter((p) => p.topic === a.inbox || p.topic === b.inbox);
    expect(handshake.length).toBe(net.log.length - before.seq);
    expect(net.counters.deliveries - before.deliveries).toBe(handshake.length);
  });
});

describe('directed hello replies (§6.2)', () => {
  it('each established member reads one frame per join and answers it; the newcomer reads one reply per member', async () => {
    const { net, sessionId, members } = await group(8);
    const before = members.map((m) => m.stats.framesIn);
    const published = net.counters.framesPublished;
    const newcomer = await join(net, sessionId);
    await waitFor(() => newcomer.peers.length === 8 && members.every((m) => m.peers.length === 8));
    await net.settle();
    members.forEach((m, i) => expect(m.stats.framesIn - before[i]!).toBe(1)); // the newcomer's hello
    expect(newcomer.stats.framesIn).toBe(1 + 8); // its own echo, then 8 replies to its inbox
    expect(net.counters.framesPublished - published).toBe(1 + 8);
  });

  it('starts no handshake on a hello', async () => {
    const { net } = await group(6);
    expect(net.counters.framesByKind[FrameKind.handshakeInit] ?? 0).toBe(0);
  });
});

describe('one initiator per pair (§7.5, §7.6)', () => {
  it('a full mesh of simultaneous sends makes exactly one init per pair', async () => {
    const n = 6;
    const { net, members } = await group(n);
    const received = new Map<Session, number>(members.map((m) => [m, 0]));
    for (const m of members) m.on('message', () => received.set(m, received.get(m)! + 1));
    await Promise.all(members.flatMap((x) => members.filter((y) => y !== x).map((y) => x.send(y.id, `${x.id}->${y.id}`))));
    await waitFor(() => [...received.values()].every((v) => v === n - 1));
    await net.settle();
    expect(net.counters.framesByKind[FrameKind.handshakeInit]).toBe((n * (n - 1)) / 2);
    expect(net.counters.framesByKind[FrameKind.handshakeResp]).toBe((n * (n - 1)) / 2);
  });

  it('the higher member sends an init request; the lower one initiates; the message arrives', async () => {
    const { net, members } = await group(2);
    const [low, high] = lowerFirst(members[0]!, members[1]!);
    const got = new Promise((r) => low.once('message', (m) => r(m.value)));
    await high.send(low.id, 'from the higher id');
    expect(await got).toBe('from the higher id');
    const inits = net.log.filter((p) => kindOf(p.frame) === FrameKind.handshakeInit);
    expect(inits.map((p) => p.topic)).toEqual([high.inbox]);
    expect(decodeFrame(inits[0]!.frame).header.sender).toEqual(bytes(low.id));
  });

  it('an init from the higher member is refused before any work (a forged one at its pair tag; with a valid tag E_HANDSHAKE: negative.json)', async () => {
    const { net, members } = await group(2);
    const [low, high] = lowerFirst(members[0]!, members[1]!);
    const errors: SealsigError[] = [];
    low.on('error', (e) => errors.push(e));
    const header = {
      version: PROTOCOL_VERSION,
      suite: SUITE_V1,
      kind: FrameKind.handshakeInit,
      route: bytes(low.topic),
      sender: bytes(high.id),
      instance: bytes(high.instance),
      recipient: bytes(low.id),
      epoch: 0,
      counter: 0,
      timestamp: Date.now(),
    };
    net.inject(low.inbox, encodeFrame(encodeHeader(header), randomBytes(180)));
    await waitFor(() => errors.length === 1);
    expect(errors[0]!.code).toBe('E_AUTH_FAILED');
    expect(low.stats.initsDeferred).toBe(0);
  });
});

describe('subscribe before announcing (§6.2)', () => {
  it('the hello is published only once both subscriptions are confirmed', async () => {
    const net = createMemoryNetwork();
    const inner = net.connect();
    const events: string[] = [];
    const slow: Transport = {
      maxFrameBytes: inner.maxFrameBytes,
      get state() {
        return inner.state;
      },
      subscribe: async (topic, onFrame) => {
        const u = await inner.subscribe(topic, onFrame);
        await new Promise((r) => setTimeout(r, topic.length > 22 ? 30 : 5)); // the inbox is confirmed last
        events.push(topic.length > 22 ? 'inbox' : 'topic');
        return u;
      },
      publish: async (topic, frame) => {
        events.push(`publish ${kindOf(frame)}`);
        return inner.publish(topic, frame);
      },
      onStateChange: (l) => inner.onStateChange(l),
      close: () => inner.close(),
    };
    await join(net, createSessionId(), {}, slow);
    expect(events).toEqual(['topic', 'inbox', `publish ${FrameKind.broadcast}`]);
  });
});

describe('gaps (§8.6)', () => {
  it('a lost init is sent again at once on a gap, not at the next retry', async () => {
    const { net, members } = await group(2, { handshakeRetryMs: 60_000, handshakeTimeoutMs: 120_000 });
    const [low, high] = lowerFirst(members[0]!, members[1]!);
    let dropInits = true;
    net.adversary = (p, sub) => (dropInits && kindOf(p.frame) === FrameKind.handshakeInit ? [] : passThrough(p, sub));
    const got = new Promise((r) => high.once('message', (m) => r(m.value)));
    const sent = low.send(high.id, 'after the gap');
    await net.settle();
    dropInits = false;
    net.gap(low.inbox); // the relay lost what it held for low's inbox: low re-announces, restarts its handshake
    await sent;
    expect(await got).toBe('after the gap');
    expect(low.stats.gaps).toBe(1);
    expect(high.stats.gaps).toBe(0);
  });

  it('on a gap a member re-announces, and every member answers to its inbox', async () => {
    const { net, members } = await group(4);
    const [first] = members as [Session];
    const before = first.stats.framesIn;
    net.gap(first.inbox);
    await net.settle();
    await waitFor(() => first.stats.framesIn - before === 1 + 3); // its own hello echo and 3 replies
    expect(first.peers).toHaveLength(3);
  });

  it('ignores gaps on topics that are not its own', async () => {
    const { net, members } = await group(2);
    net.gap('some-other-topic');
    net.gap(members[1]!.inbox);
    expect(members[0]!.stats.gaps).toBe(0);
  });
});

describe('peer metadata (§6.2)', () => {
  it('is delivered with peer-joined and in peers', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const a = await join(net, sessionId, { meta: { name: 'Ada', role: 'host' } });
    const b = await join(net, sessionId);
    await waitFor(() => b.peers.length === 1 && a.peers.length === 1);
    expect(b.peers[0]!.meta).toEqual({ name: 'Ada', role: 'host' });
    expect(a.peers[0]!.meta).toBeNull();
  });

  it('is bounded: over 1 KiB is E_INVALID_ARGUMENT when joining, E_FRAME_MALFORMED in a hello', async () => {
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    await expect(joinSession({ sessionId, transport: net.connect(), meta: 'x'.repeat(MAX_META_BYTES) })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    const b = await join(net, sessionId);
    const errors: SealsigError[] = [];
    b.on('error', (e) => errors.push(e));
    const signing = ed25519KeyPair();
    net.inject(b.topic, sealHelloAs(sessionId, signing, [signing.publicKey, x25519KeyPair().publicKey, false, 'x'.repeat(MAX_META_BYTES), null]));
    await waitFor(() => errors.length === 1);
    expect(errors[0]!.code).toBe('E_FRAME_MALFORMED');
    expect(b.peers).toEqual([]);
  });
});

describe('hello replies to a known instance are rate-limited (§6.2)', () => {
  it('a member re-announcing in a loop gets at most one reply a second from each member', async () => {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const { net, members } = await group(2, { now });
    const [a, b] = members as [Session, Session];
    const before = b.stats.framesOut;
    for (let i = 0; i < 5; i++) net.gap(a.inbox); // each makes a publish a hello asking for replies
    await net.settle();
    expect(a.stats.gaps).toBe(5);
    expect(b.stats.framesOut - before).toBe(1);
    clock.t += 1_001;
    net.gap(a.inbox);
    await net.settle();
    expect(b.stats.framesOut - before).toBe(2);
  });
});
