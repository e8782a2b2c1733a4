/**
 * Protocol v3: no single member or topic writer can deny service (docs/PROTOCOL.md §2.1, §6.2, §6.4, §7.2,
 * §7.7), and a join costs what it must. Virtual clocks (fake timers and Date) where a bound is in seconds;
 * every assertion is a count or an outcome.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { compareBytes, fromBase64Url, toBase64Url } from '../src/bytes.js';
import { BroadcastType, sealBroadcast } from '../src/broadcast.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, encodeFrame, encodeHeader, type Header } from '../src/envelope.js';
import type { SealsigError } from '../src/errors.js';
import { createSessionId, deriveEpochKeys, deriveSession, memberIdOf } from '../src/kdf.js';
import { createMemoryNetwork, passThrough, type MemoryNetwork } from '../src/memory-transport.js';
import { pairKey, pairTag } from '../src/pair-tag.js';
import { type Identity, type Session, type SessionOptions } from '../src/session.js';
import { joinSession } from '../src/join-session.js';
import { ed25519KeyPair, publicKeyOps, randomBytes, resetPublicKeyOps, x25519KeyPair } from '../src/sodium.js';
import { errorsOf, sealHelloAs, sessionsClosedAfterEach } from './helpers.js';

const open = sessionsClosedAfterEach();

const useVirtualClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
const bytes = (b64: string) => fromBase64Url(b64)!;
const lower = (x: string, y: string) => compareBytes(bytes(x), bytes(y)) < 0;

async function join(net: MemoryNetwork, sessionId: string, opts: Partial<SessionOptions> = {}): Promise<Session> {
  const s = joinSession({ sessionId, transport: net.connect(), ...opts });
  await vi.advanceTimersByTimeAsync(1);
  const session = await s;
  open.push(session);
  return session;
}

function identity(): Identity {
  return { signing: ed25519KeyPair(), dh: x25519KeyPair() };
}

/** Records the peer events a session's app sees about one member id. */
function peerEvents(s: Session, memberId: string) {
  const seen = { joined: 0, left: 0 };
  s.on('peer-joined', (p) => p.id === memberId && seen.joined++);
  s.on('peer-left', (e) => e.peer.id === memberId && seen.left++);
  return seen;
}


describe('a member cycling instance ids (§6.4)', () => {
  it('gains nothing: each honest member answers, admits and initiates at most once a second', async () => {
    useVirtualClock();
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const honest = [await join(net, sessionId), await join(net, sessionId), await join(net, sessionId)];
    await vi.advanceTimersByTimeAsync(20);
    for (const h of honest) expect(h.peers).toHaveLength(2);
    const keys = deriveSession(sessionId);
    const rogue = identity();
    const rogueId = toBase64Url(memberIdOf(keys.memberIdKey, rogue.signing.publicKey));
    const broadcastKey = deriveEpochKeys(0, keys.roomKey0).broadcastKey;
    const events = honest.map((h) => peerEvents(h, rogueId));
    const out0 = honest.map((h) => h.stats.framesOut);
    resetPublicKeyOps();
    // 3 s at full speed: a hello asking for a reply from a fresh instance every 5 ms (600 instances), each
    // followed by an init request to every honest member with a lower id (the v2 measurement's worst case).
    let hellos = 0;
    for (let t = 0; t < 3_000; t += 5) {
      const instance = randomBytes(8);
      const header = (counter: number): Header => ({
        version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.broadcast, route: keys.routeTag,
        sender: bytes(rogueId), instance, recipient: null, epoch: 0, counter, timestamp: Date.now(),
      });
      net.inject(honest[0]!.topic, sealHelloAs(sessionId, rogue.signing, [rogue.signing.publicKey, rogue.dh.publicKey, true, null, null], header(0)));
      hellos++;
      for (const h of honest) {
        if (!lower(h.id, rogueId)) continue;
        const request = sealBroadcast({ header: header(1), key: broadcastKey, signingKey: rogue.signing.privateKey, type: BroadcastType.initRequest, payload: [bytes(h.id), bytes(h.instance)] });
        net.inject(h.inbox, request);
      }
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(hellos).toBe(600);
    const seconds = 3;
    for (const [i, h] of honest.entries()) {
      // At most one admission per second (the first at once): 4 in 3 s, each a peer-joined, each after the
      // first also a peer-left ('rejoined').
      expect(events[i]!.joined).toBeLessThanOrEqual(seconds + 1);
      expect(events[i]!.left).toBeLessThanOrEqual(seconds);
      expect(h.stats.hellosDeferred).toBeGreaterThan(500);
      // What it published: no heartbeat is due in 3 s (10 s period); at most one reply a second; and, as the
      // lower member, at most one init per admitted instance plus its retries (1 s, then 2 s later).
      const published = h.stats.framesOut - out0[i]!;
      expect(published).toBeLessThanOrEqual(seconds + 1 + 2 * (seconds + 1));
    }
    // X25519 for the rogue, over the three honest members: per admitted instance at most the pair key and
    // two inits (two DH each) for a lower member. v2: two per rogue init request, about 1,200 here.
    expect(publicKeyOps.x25519).toBeLessThanOrEqual(3 * (seconds + 1) * 5);
    // The honest members still talk to each other.
    const got = new Promise<unknown>((r) => honest[1]!.once('message', (m) => r(m.value)));
    await honest[0]!.send(honest[1]!.id, 'still here');
    await vi.advanceTimersByTimeAsync(10);
    expect(await got).toBe('still here');
  });

  it('a genuine reload is admitted at once, and a second reload within the second after it within a second', async () => {
    useVirtualClock();
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const a = await join(net, sessionId);
    const me = identity();
    const first = await join(net, sessionId, { identity: me });
    await vi.advanceTimersByTimeAsync(5_000);
    const joined: string[] = [];
    a.on('peer-joined', (p) => joined.push(p.instance));
    await vi.advanceTimersByTimeAsync(0);
    joined.length = 0; // the listener first hears of the peers already live
    await first.close();
    const second = await join(net, sessionId, { identity: me });
    await vi.advanceTimersByTimeAsync(5);
    expect(joined).toEqual([second.instance]); // the last admission of this member was 5 s ago
    await second.close();
    const third = await join(net, sessionId, { identity: me });
    await vi.advanceTimersByTimeAsync(5);
    expect(joined).toEqual([second.instance]); // less than a second after the last admission: it waits
    await vi.advanceTimersByTimeAsync(1_000);
    expect(joined).toEqual([second.instance, third.instance]);
    expect(a.peers.map((p) => p.instance)).toEqual([third.instance]);
  });
});

describe('admissions per member id (§6.4), property', () => {
  it('for any arrival times of new instances of one member: admissions at least 1,000 ms apart, and the newest instance live within 1,000 ms', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 1, maxLength: 12 }), async (gaps) => {
        useVirtualClock();
        try {
          const net = createMemoryNetwork();
          const sessionId = createSessionId();
          const receiver = await join(net, sessionId);
          const me = identity();
          const keys = deriveSession(sessionId);
          const admittedAt: number[] = [];
          receiver.on('peer-joined', () => admittedAt.push(Date.now()));
          let last = '';
          for (const gap of gaps) {
            await vi.advanceTimersByTimeAsync(gap);
            const instance = randomBytes(8);
            last = toBase64Url(instance);
            const header: Header = {
              version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.broadcast, route: keys.routeTag,
              sender: memberIdOf(keys.memberIdKey, me.signing.publicKey), instance, recipient: null, epoch: 0, counter: 0, timestamp: Date.now(),
            };
            net.inject(receiver.topic, sealHelloAs(sessionId, me.signing, [me.signing.publicKey, me.dh.publicKey, false, null, null], header));
          }
          await vi.advanceTimersByTimeAsync(1_000);
          for (let i = 1; i < admittedAt.length; i++) expect(admittedAt[i]! - admittedAt[i - 1]!).toBeGreaterThanOrEqual(1_000);
          expect(receiver.peers.map((p) => p.instance)).toEqual([last]);
          await receiver.close();
          open.splice(open.indexOf(receiver), 1);
        } finally {
          vi.useRealTimers();
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('forged handshake frames against a pair (§7.2)', () => {
  for (const who of ['a topic writer without the session id', 'a rogue member'] as const) {
    it(`${who} flooding inits claiming A toward B: the pair completes and talks; B spends no budget and no X25519 on the junk`, async () => {
      useVirtualClock();
      const net = createMemoryNetwork();
      const sessionId = createSessionId();
      const s1 = await join(net, sessionId);
      const s2 = await join(net, sessionId);
      await vi.advanceTimersByTimeAsync(20);
      const [a, b] = lower(s1.id, s2.id) ? [s1, s2] : [s2, s1];
      const errors = errorsOf(b);
      // A rogue member holds the session's keys and its own: it can make a valid pair tag with B, for itself.
      const rogue = identity();
      const keys = deriveSession(sessionId);
      const rogueEnd = { id: memberIdOf(keys.memberIdKey, rogue.signing.publicKey), instance: randomBytes(8) };
      const rogueTagKey = pairKey(keys.routeTag, rogueEnd, rogue.dh, { id: bytes(b.id), instance: bytes(b.instance) }, b.peers[0] ? x25519KeyPair().publicKey : x25519KeyPair().publicKey);
      const forged = (i: number) => {
        const ad = encodeHeader({
          version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.handshakeInit, route: bytes(b.topic), sender: bytes(a.id),
          instance: bytes(a.instance), recipient: bytes(b.id), epoch: 0, counter: i, timestamp: Date.now(),
        });
        const message = randomBytes(32 + ad.length + 16);
        const tag = who === 'a rogue member' ? pairTag(rogueTagKey, ad, message) : randomBytes(16);
        return encodeFrame(ad, Uint8Array.from([...tag, ...message]));
      };
      resetPublicKeyOps();
      const got: unknown[] = [];
      b.on('message', (m) => got.push(m.value));
      // The flood runs before, during and after the handshake.
      for (let i = 0; i < 200; i++) net.inject(b.inbox, forged(i));
      const sent = a.send(b.id, 'first');
      for (let i = 200; i < 400; i++) net.inject(b.inbox, forged(i));
      await vi.advanceTimersByTimeAsync(10);
      await sent;
      for (let i = 400; i < 600; i++) net.inject(b.inbox, forged(i));
      await b.send(a.id, 'back');
      await a.send(b.id, 'second');
      await vi.advanceTimersByTimeAsync(10);
      expect(got).toEqual(['first', 'second']);
      expect(errors.map((e) => e.code)).toEqual(Array(600).fill('E_AUTH_FAILED'));
      expect(b.stats.initsDeferred).toBe(0);
      // One handshake in all: each side computes its pair key (1 X25519) and does its Noise share (4 DH).
      expect(publicKeyOps.x25519).toBe(10);
    });
  }
});

describe('liveness is bounded by R (§6.2)', () => {
  it('a member whose bye was lost appears live to no newcomer beyond R plus the peer timeout, whatever is replayed', async () => {
    useVirtualClock();
    const R = 30_000;
    const peerTimeoutMs = 35_000;
    const opts = { helloMaxAgeMs: R, peerTimeoutMs, heartbeatMs: 10_000 };
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const stayer = await join(net, sessionId, opts);
    const leaver = await join(net, sessionId, opts);
    await vi.advanceTimersByTimeAsync(25_000); // two heartbeats of the leaver
    // Everything the leaver published; then it goes away and the transport eats its bye.
    const recorded = net.log.filter((p) => p.from === 1).map((p) => p.seq);
    net.adversary = (p, sub) => (p.from === 1 ? [] : passThrough(p, sub));
    await leaver.close();
    const tDeparted = Date.now();
    net.adversary = passThrough;
    // Newcomers join at various times after the departure. Every second the transport replays everything the
    // leaver sent, to everyone; each newcomer notes when it last saw the leaver live.
    const newcomers: { session: Session; at: number; lastLive: number }[] = [];
    const joinAt = new Set([0, 5, 15, 29, 31, 60]);
    for (let t = 0; t <= 180; t++) {
      if (joinAt.has(t)) newcomers.push({ session: await join(net, sessionId, opts), at: Date.now(), lastLive: -1 });
      for (const seq of recorded) net.replay(seq);
      await vi.advanceTimersByTimeAsync(1_000);
      for (const n of newcomers) if (n.session.peers.some((p) => p.id === leaver.id)) n.lastLive = Date.now();
    }
    for (const n of newcomers) expect(n.lastLive - tDeparted).toBeLessThanOrEqual(R + peerTimeoutMs + 1_000);
    // Those that joined more than R after the departure never saw it at all.
    for (const n of newcomers.filter((x) => x.at - tDeparted > R)) expect(n.lastLive).toBe(-1);
    // And one that joined at once did see it (the bound is not vacuous).
    expect(newcomers[0]!.lastLive).toBeGreaterThan(0);
    expect(stayer.peers.map((p) => p.id)).not.toContain(leaver.id);
  });
});

describe('joins cost what they must (§6.2)', () => {
  it('n joining at once: at most 2n signatures and 1.25 n(n-1) verifications', async () => {
    useVirtualClock();
    const n = 16;
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    resetPublicKeyOps();
    const sessions = await Promise.all(Array.from({ length: n }, () => joinSession({ sessionId, transport: net.connect() })));
    open.push(...sessions);
    await vi.advanceTimersByTimeAsync(100);
    for (const s of sessions) expect(s.peers).toHaveLength(n - 1);
    expect(publicKeyOps.ed25519Sign).toBeLessThanOrEqual(2 * n);
    expect(publicKeyOps.ed25519Verify).toBeLessThanOrEqual(1.25 * n * (n - 1));
  });

  it('n joining one by one: at most 2n signatures', async () => {
    useVirtualClock();
    const n = 16;
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    resetPublicKeyOps();
    for (let i = 0; i < n; i++) {
      await join(net, sessionId);
      await vi.advanceTimersByTimeAsync(100);
    }
    for (const s of open) expect(s.peers).toHaveLength(n - 1);
    expect(publicKeyOps.ed25519Sign).toBeLessThanOrEqual(2 * n);
  });
});
