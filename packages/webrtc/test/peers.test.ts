/**
 * Negotiation and leave semantics of connectPeers, with a fake RTCPeerConnection (fake-rtc.ts) and an
 * in-process signaling hub (fake-signaling.ts). Real connections are tested in Chromium (browser.test.ts).
 */
import type { Session } from '@sealsig/core';
import type { Room } from '@sealsig/rooms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectPeers, type Peers, type PeersEvents, type Signaling } from '../src/index.js';
import { FIRST_OFFER_WAIT_MS } from '../src/peer.js';
import { FakeRTC, FakeRTCPeerConnection, FakeStream, FakeTrack } from './fake-rtc.js';
import { FakeHub, type FakeMember } from './fake-signaling.js';

// Compile-time: a core Session and a rooms Room are Signaling.
export const sessionFits = (s: Session): Signaling => s;
export const roomFits = (r: Room): Signaling => r;

const until = (check: () => boolean) => vi.waitFor(() => expect(check()).toBe(true), { timeout: 10_000, interval: 5 });
const open: Peers[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
  FakeRTCPeerConnection.reset();
});

function record(peers: Peers) {
  const events: { [K in keyof PeersEvents]?: PeersEvents[K][] } = {};
  for (const type of ['peer', 'open', 'message', 'track', 'peer-left', 'error'] as const) {
    events[type] = [];
    peers.on(type, (e: unknown) => void (events[type] as unknown[]).push(e));
  }
  return events as { [K in keyof PeersEvents]: PeersEvents[K][] };
}

function connect(member: FakeMember, channels = ['chat'], more: { connectTimeoutMs?: number } = {}) {
  const peers = connectPeers(member, { RTCPeerConnection: FakeRTC, channels, ...more });
  open.push(peers);
  return { peers, events: record(peers) };
}

const fake = (peers: Peers, id: string) => peers.peers.get(id)!.pc as unknown as FakeRTCPeerConnection;
const connected = (peers: Peers, id: string) => peers.peers.get(id)?.connectionState === 'connected';
const chatOpen = (peers: Peers, id: string) => peers.peers.get(id)?.channel('chat')?.readyState === 'open';

/** Alice's id sorts first: she is impolite. */
function pair(options: { channels?: string[] } = {}) {
  const hub = new FakeHub();
  const a = connect(hub.join('alice'), options.channels);
  const b = connect(hub.join('bob'), options.channels);
  return { hub, a, b };
}

describe('connectPeers (fake RTCPeerConnection)', () => {
  it('two members connect and exchange JSON values on a named data channel, both ways', async () => {
    const { a, b } = pair({ channels: ['chat', 'state'] });
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    expect(a.events.peer.map((p) => p.id)).toEqual(['bob']);
    expect(b.peers.peers.get('alice')!.polite).toBe(true);
    expect(a.peers.peers.get('bob')!.polite).toBe(false);
    expect(a.peers.send('chat', { text: 'hi bob' })).toBe(1);
    expect(b.peers.send('state', [1, 2, 3], 'alice')).toBe(1);
    await until(() => a.events.message.length === 1 && b.events.message.length === 1);
    expect(b.events.message.map(({ from, channel, value }) => [from.id, channel, value])).toEqual([['alice', 'chat', { text: 'hi bob' }]]);
    expect(a.events.message.map(({ from, channel, value }) => [from.id, channel, value])).toEqual([['bob', 'state', [1, 2, 3]]]);
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('the first negotiation has no glare: the polite side answers the impolite offer and makes none of its own', async () => {
    const { a, b } = pair();
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    const [pa, pb] = [fake(a.peers, 'bob'), fake(b.peers, 'alice')];
    expect(pa.log.filter((s) => s === 'offer' || s === 'answer' || s === 'rollback')).toEqual(['offer']);
    expect(pb.log.filter((s) => s === 'offer' || s === 'answer' || s === 'rollback')).toEqual(['answer']);
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('a polite side whose peer has nothing to negotiate offers itself after FIRST_OFFER_WAIT_MS', async () => {
    const hub = new FakeHub();
    const a = connect(hub.join('alice'), []); // impolite, no channel, no track: never offers
    const b = connect(hub.join('bob'), []);
    b.peers.addTrack(new FakeTrack('camera') as unknown as MediaStreamTrack);
    const started = Date.now();
    await until(() => a.events.track.length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(FIRST_OFFER_WAIT_MS - 50);
    expect(fake(b.peers, 'alice').log.filter((s) => s === 'offer' || s === 'answer')).toEqual(['offer']);
  });

  it('glare on a renegotiation: both add a track at once; the polite side rolls back and answers, the impolite side ignores the offer', async () => {
    const { a, b } = pair();
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    const [pa, pb] = [fake(a.peers, 'bob'), fake(b.peers, 'alice')];
    a.peers.addTrack(new FakeTrack('camera-a') as unknown as MediaStreamTrack);
    b.peers.addTrack(new FakeTrack('camera-b') as unknown as MediaStreamTrack);
    await until(() => a.events.track.length === 1 && b.events.track.length === 1);
    await until(() => pa.signalingState === 'stable' && pb.signalingState === 'stable');
    // Both offered (the offers crossed): bob rolled his back and answered alice's.
    expect(pb.log).toContain('rollback');
    expect(pa.log).not.toContain('rollback');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('watchdog: an answer lost on the way; the impolite side sends its offer again after connectTimeoutMs', async () => {
    const hub = new FakeHub();
    let lost = 0;
    hub.lose = (d) => d.description?.type === 'answer' && lost++ === 0;
    const a = connect(hub.join('alice'), ['chat'], { connectTimeoutMs: 300 });
    const b = connect(hub.join('bob'), ['chat'], { connectTimeoutMs: 300 });
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    expect(lost).toBeGreaterThan(1);
    expect(hub.sent.filter((d) => d.description?.type === 'offer').length).toBe(2); // the same offer, twice
    expect(fake(a.peers, 'bob').log).not.toContain('restartIce');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('watchdog: candidates lost on the way; the impolite side alone restarts ICE, and the new candidates connect', async () => {
    const hub = new FakeHub();
    hub.lose = (d) => d.candidate != null && d.candidate.candidate!.endsWith(':0'); // the first ICE generation's
    const a = connect(hub.join('alice'), ['chat'], { connectTimeoutMs: 300 });
    const b = connect(hub.join('bob'), ['chat'], { connectTimeoutMs: 300 });
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    expect(fake(a.peers, 'bob').log).toContain('restartIce');
    expect(fake(b.peers, 'alice').log).not.toContain('restartIce');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('watchdog: a member that never answers gets the offer again, each time after twice the wait before', async () => {
    const hub = new FakeHub();
    const offers: number[] = []; // when each offer to bob was sent
    hub.lose = (d) => {
      if (d.to === 'bob' && d.description?.type === 'offer') offers.push(Date.now());
      return d.to === 'bob'; // nothing reaches bob: alice's offer is never answered
    };
    const a = connect(hub.join('alice'), ['chat'], { connectTimeoutMs: 100 });
    connect(hub.join('bob'), ['chat'], { connectTimeoutMs: 100 });
    await until(() => offers.length >= 5);
    // Resent after 100, 200, 400 and 800 ms (timers never fire early: a lower bound holds on a loaded
    // machine); without the doubling the four waits would take 400 ms.
    expect(offers[4]! - offers[0]!).toBeGreaterThanOrEqual(1_450);
    expect(fake(a.peers, 'bob').signalingState).toBe('have-local-offer');
    expect(fake(a.peers, 'bob').log).not.toContain('restartIce');
  });

  it('connectTimeoutMs: 0 turns the watchdog off; a bad value is refused', async () => {
    const hub = new FakeHub();
    hub.lose = (d) => d.candidate != null;
    const a = connect(hub.join('alice'), ['chat'], { connectTimeoutMs: 0 });
    connect(hub.join('bob'), ['chat'], { connectTimeoutMs: 0 });
    await until(() => fake(a.peers, 'bob')?.signalingState === 'stable' && fake(a.peers, 'bob').remoteDescription !== null);
    await new Promise((r) => setTimeout(r, 400));
    expect(fake(a.peers, 'bob').log).not.toContain('restartIce');
    expect(() => connectPeers(hub.join('x'), { RTCPeerConnection: FakeRTC, connectTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => connectPeers(hub.join('y'), { RTCPeerConnection: FakeRTC, connectTimeoutMs: 1.5 })).toThrow(RangeError);
  });

  it('candidates that arrive before their description wait for it', async () => {
    const hub = new FakeHub();
    hub.hold(); // descriptions wait; candidates pass
    const a = connect(hub.join('alice'));
    const b = connect(hub.join('bob'));
    await until(() => hub.sent.some((d) => d.candidate && d.to === 'bob') && hub.sent.some((d) => d.candidate && d.to === 'alice'));
    await until(() => a.peers.peers.has('bob') && b.peers.peers.has('alice'));
    expect(fake(b.peers, 'alice').remoteDescription).toBeNull();
    hub.release();
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it.each(['bye', 'expelled', 'kicked', 'rejoined'] as const)("a member that leaves with '%s' has its connection closed", async (reason) => {
    const { hub, a, b } = pair();
    await until(() => connected(a.peers, 'bob') && connected(b.peers, 'alice'));
    const pc = fake(a.peers, 'bob');
    hub.leave('bob', reason);
    await until(() => a.events['peer-left'].length === 1);
    expect(a.events['peer-left'].map(({ id, reason }) => [id, reason])).toEqual([['bob', reason]]);
    expect(pc.connectionState).toBe('closed');
    expect(a.peers.peers.size).toBe(0);
  });

  it("'timeout' keeps a connected call: the channel works through the outage, and the member's return finds the same connection", async () => {
    const { hub, a, b } = pair();
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    const peer = a.peers.peers.get('bob')!;
    hub.down = true; // the relay is gone; both time each other out
    hub.leave('bob', 'timeout');
    hub.leave('alice', 'timeout');
    expect(peer.present).toBe(false);
    expect(peer.connectionState).toBe('connected');
    a.peers.send('chat', 'still here');
    await until(() => b.events.message.length === 1);
    hub.down = false;
    hub.reappear('bob');
    hub.reappear('alice');
    expect(a.peers.peers.get('bob')).toBe(peer);
    expect(peer.present).toBe(true);
    b.peers.send('chat', 'back');
    await until(() => a.events.message.length === 1);
    expect([...a.events['peer-left'], ...b.events['peer-left']]).toEqual([]);
    expect(a.events.peer.length + b.events.peer.length).toBe(2);
  });

  it("'timeout' closes a connection that is not connected", async () => {
    const hub = new FakeHub();
    hub.hold(); // never connects
    const a = connect(hub.join('alice'));
    connect(hub.join('bob'));
    await until(() => a.peers.peers.has('bob'));
    hub.leave('bob', 'timeout');
    expect(a.events['peer-left'].map((e) => e.reason)).toEqual(['timeout']);
  });

  it('a connection kept after a timeout is dropped once it fails; one with the member present restarts ICE instead', async () => {
    const { hub, a, b } = pair();
    await until(() => connected(a.peers, 'bob') && connected(b.peers, 'alice'));
    // Present: 'failed' restarts ICE, which renegotiates and connects again.
    const pb = fake(b.peers, 'alice');
    pb.breakConnection();
    expect(pb.log).toContain('restartIce');
    await until(() => connected(b.peers, 'alice'));
    expect(b.events['peer-left']).toEqual([]);
    // Timed out: 'failed' drops it.
    hub.leave('bob', 'timeout');
    const pa = fake(a.peers, 'bob');
    pa.breakConnection();
    expect(pa.log).not.toContain('restartIce');
    expect(a.events['peer-left'].map((e) => [e.id, e.reason])).toEqual([['bob', 'failed']]);
    expect(pa.connectionState).toBe('closed');
  });

  it('a member back with a new instance (a reload) gets a new connection', async () => {
    const { hub, a } = pair();
    await until(() => connected(a.peers, 'bob'));
    const first = a.peers.peers.get('bob')!;
    hub.leave('bob', 'timeout');
    hub.members.delete('bob');
    connect(hub.join('bob', 'i2'));
    await until(() => connected(a.peers, 'bob') && a.peers.peers.get('bob') !== first);
    expect(first.closed).toBe(true);
    expect(a.events['peer-left'].map((e) => e.reason)).toEqual(['rejoined']);
  });

  it("a room member back with a new instance (told by the room's core session) gets a new connection", async () => {
    const hub = new FakeHub();
    const bob = hub.join('bob');
    connect(bob);
    const sessionPeers = [{ id: 'bob', instance: 'i1' }];
    // A room reports members without an instance; its core session's live peers have it.
    const alice = Object.assign(hub.join('alice'), { session: { peers: sessionPeers }, withoutInstances: true });
    const a = connect(alice);
    await until(() => connected(a.peers, 'bob'));
    const first = a.peers.peers.get('bob')!;
    expect(first.instance).toBe('i1');
    // The same instance, back after a timeout: the same connection.
    hub.leave('bob', 'timeout');
    hub.reappear('bob');
    expect(a.peers.peers.get('bob')).toBe(first);
    // A reload: a new instance in the session.
    hub.leave('bob', 'timeout');
    hub.members.delete('bob');
    sessionPeers[0] = { id: 'bob', instance: 'i2' };
    connect(hub.join('bob', 'i2'));
    await until(() => connected(a.peers, 'bob') && a.peers.peers.get('bob') !== first);
    expect(a.peers.peers.get('bob')!.instance).toBe('i2');
    expect(a.events['peer-left'].map((e) => e.reason)).toEqual(['rejoined']);
  });

  it('a description that could not be sent while the member was away is sent on its return', async () => {
    const { hub, a, b } = pair();
    await until(() => chatOpen(a.peers, 'bob') && chatOpen(b.peers, 'alice'));
    hub.down = true;
    hub.leave('bob', 'timeout');
    hub.leave('alice', 'timeout');
    const camera = new FakeTrack('camera');
    a.peers.addTrack(camera as unknown as MediaStreamTrack); // negotiationneeded: the offer cannot go out
    await until(() => fake(a.peers, 'bob').signalingState === 'have-local-offer'); // its send was refused
    hub.down = false;
    hub.reappear('alice');
    hub.reappear('bob'); // alice hears of bob again: her offer goes out
    await until(() => b.events.track.length === 1);
    await until(() => fake(a.peers, 'bob').signalingState === 'stable');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('tracks: added before and after connecting reach the other side, with their streams', async () => {
    const { a, b } = pair();
    const camera = new FakeTrack('camera');
    const stream = new FakeStream('s1');
    a.peers.addTrack(camera as unknown as MediaStreamTrack, stream as unknown as MediaStream);
    await until(() => b.events.track.length === 1);
    expect(b.events.track[0]!.track).toBe(camera);
    expect(b.events.track[0]!.streams).toEqual([stream]);
    const mic = new FakeTrack('mic');
    b.peers.addTrack(mic as unknown as MediaStreamTrack);
    await until(() => a.events.track.length === 1);
    expect(a.events.track[0]!.from.id).toBe('bob');
  });

  it('addStream sends each of its tracks in that stream; removeStream stops them all', async () => {
    const { a, b } = pair();
    const [video, audio] = [new FakeTrack('video'), new FakeTrack('audio')];
    const stream = new FakeStream('screen', [video, audio]);
    a.peers.addStream(stream as unknown as MediaStream);
    await until(() => b.events.track.length === 2);
    expect(b.events.track.map((t) => [t.track, t.streams])).toEqual([
      [video, [stream]],
      [audio, [stream]],
    ]);
    a.peers.removeStream(stream as unknown as MediaStream);
    const tracksOffered = () => (JSON.parse(fake(b.peers, 'alice').remoteDescription?.sdp ?? '{}') as { tracks?: unknown[] }).tracks?.length;
    await until(() => tracksOffered() === 0 && fake(a.peers, 'bob').signalingState === 'stable');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it('removeTrack renegotiates without the track', async () => {
    const { a, b } = pair();
    const camera = new FakeTrack('camera');
    a.peers.addTrack(camera as unknown as MediaStreamTrack);
    await until(() => b.events.track.length === 1);
    a.peers.removeTrack(camera as unknown as MediaStreamTrack);
    const tracksOffered = () => (JSON.parse(fake(b.peers, 'alice').remoteDescription?.sdp ?? '{}') as { tracks?: unknown[] }).tracks?.length;
    await until(() => tracksOffered() === 0 && fake(a.peers, 'bob').signalingState === 'stable');
    expect([...a.events.error, ...b.events.error]).toEqual([]);
  });

  it("ICE servers: a Room's iceServers for new connections, its 'ice-servers' event applied with setConfiguration; explicit ones win", async () => {
    const hub = new FakeHub();
    const member = Object.assign(hub.join('alice'), { iceServers: [{ urls: 'stun:a.example' }] });
    const peers = connectPeers(member, { RTCPeerConnection: FakeRTC });
    open.push(peers);
    const fixed = connectPeers(hub.join('bob'), { RTCPeerConnection: FakeRTC, iceServers: [{ urls: 'stun:fixed.example' }] });
    open.push(fixed);
    await until(() => peers.peers.has('bob') && fixed.peers.has('alice'));
    expect(fake(peers, 'bob').configuration.iceServers).toEqual([{ urls: 'stun:a.example' }]);
    member.fire('ice-servers', { iceServers: [{ urls: 'turn:t.example', username: 'u', credential: 'c' }] });
    expect(fake(peers, 'bob').configuration.iceServers).toEqual([{ urls: 'turn:t.example', username: 'u', credential: 'c' }]);
    expect(peers.iceServers).toEqual([{ urls: 'turn:t.example', username: 'u', credential: 'c' }]);
    hub.members.get('bob')!.fire('ice-servers', { iceServers: [] });
    expect(fake(fixed, 'alice').configuration.iceServers).toEqual([{ urls: 'stun:fixed.example' }]);
  });

  it("a Room's members already present are connected; being kicked or the signaling closing closes every connection", async () => {
    const hub = new FakeHub();
    const bob = hub.join('bob');
    const carol = hub.join('carol');
    connect(bob);
    connect(carol);
    const alice = Object.assign(hub.join('alice'), { members: [bob.info, carol.info] });
    const a = connect(alice);
    await until(() => connected(a.peers, 'bob') && connected(a.peers, 'carol'));
    const pcs = [fake(a.peers, 'bob'), fake(a.peers, 'carol')];
    alice.fire('kicked', { reason: 'bye now' });
    expect(a.events['peer-left'].map((e) => [e.id, e.reason])).toEqual([['bob', 'kicked'], ['carol', 'kicked']]);
    expect(pcs.map((p) => p.connectionState)).toEqual(['closed', 'closed']);
    expect(a.peers.closed).toBe(true);
  });

  it('close() closes every connection and stops listening', async () => {
    const { hub, a } = pair();
    await until(() => connected(a.peers, 'bob'));
    const pc = fake(a.peers, 'bob');
    a.peers.close();
    expect(pc.connectionState).toBe('closed');
    expect(a.events['peer-left'].map((e) => e.reason)).toEqual(['closed']);
    connect(hub.join('carol'));
    await new Promise((r) => setTimeout(r, 0));
    expect(a.peers.peers.size).toBe(0);
  });

  it('needs an RTCPeerConnection: a clear error outside browsers', () => {
    const hub = new FakeHub();
    expect(() => connectPeers(hub.join('x'))).toThrow(/RTCPeerConnection/);
  });
});
