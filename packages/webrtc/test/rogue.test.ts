/**
 * Issue 17: a member cycling instance ids at full speed costs an app using connectPeers at most one
 * RTCPeerConnection per admitted instance, and core admits at most one new instance of a member a second
 * (docs/PROTOCOL.md §6.4). A real core Session on the memory network; a fake RTCPeerConnection; virtual clock.
 */
import {
  BroadcastType,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  createMemoryNetwork,
  createSessionId,
  deriveEpochKeys,
  deriveSession,
  ed25519KeyPair,
  joinSession,
  memberIdOf,
  randomBytes,
  ready,
  sealBroadcast,
  toBase64Url,
  x25519KeyPair,
  type Session,
} from '@sealsig/core';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';
import { connectPeers, type Peers } from '../src/index.js';
import { FakeRTC, FakeRTCPeerConnection } from './fake-rtc.js';

beforeAll(async () => {
  await ready();
});

const open: { peers?: Peers; session: Session }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.peers?.close();
    await o.session.close();
  }
  FakeRTCPeerConnection.reset();
  vi.useRealTimers();
});

it('a member cycling instance ids for 3 s makes an honest app create at most one RTCPeerConnection per second for it', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  const net = createMemoryNetwork();
  const sessionId = createSessionId();
  const joining = joinSession({ sessionId, transport: net.connect() });
  await vi.advanceTimersByTimeAsync(1);
  const session = await joining;
  const peers = connectPeers(session, { RTCPeerConnection: FakeRTC, channels: ['chat'] });
  open.push({ peers, session });
  const keys = deriveSession(sessionId);
  const broadcastKey = deriveEpochKeys(0, keys.roomKey0).broadcastKey;
  const rogue = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
  const rogueId = toBase64Url(memberIdOf(keys.memberIdKey, rogue.signing.publicKey));
  const joined: string[] = [];
  peers.on('peer', (p) => joined.push(p.id));
  for (let t = 0; t < 3_000; t += 5) {
    const header = {
      version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.broadcast, route: keys.routeTag, sender: memberIdOf(keys.memberIdKey, rogue.signing.publicKey),
      instance: randomBytes(8), recipient: null, epoch: 0, counter: 0, timestamp: Date.now(),
    };
    net.inject(session.topic, sealBroadcast({ header, key: broadcastKey, signingKey: rogue.signing.privateKey, type: BroadcastType.hello, payload: [rogue.signing.publicKey, rogue.dh.publicKey, true, null, null] }));
    await vi.advanceTimersByTimeAsync(5);
  }
  // 600 instances in 3 s; at most one admitted a second (the first at once): 4, each a 'peer' and a connection.
  const rogueJoins = joined.filter((id) => id === rogueId).length;
  expect(rogueJoins).toBeGreaterThanOrEqual(3);
  expect(rogueJoins).toBeLessThanOrEqual(4);
  expect(FakeRTCPeerConnection.all.length).toBeGreaterThanOrEqual(3);
  expect(FakeRTCPeerConnection.all.length).toBeLessThanOrEqual(4);
  expect(session.stats.hellosDeferred).toBeGreaterThan(500);
});
