/**
 * docs/test-vectors: regenerated and compared byte for byte (code and spec cannot drift apart), then run
 * through the stack: broadcast and negative vectors through a real Session on an injected transport, the
 * pairwise vectors through the frame layer on both sides.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareBytes, fromBase64Url, fromHex, toBase64Url, toHex } from '../src/bytes.js';
import { decodeContent } from '../src/codec.js';
import { inboxTopic } from '../src/kdf.js';
import { helloEffort, workHash } from '../src/admission.js';
import {
  BroadcastType,
  ChannelKeys,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  encodeFrame,
  encodeHeader,
  pad,
  pairwisePrologue,
  pairKey,
  pairTag,
  concatBytes,
  type CipherState,
  createMemoryNetwork,
  decodeFrame,
  deriveEpochKeys,
  deriveSession,
  joinSession,
  memberIdOf,
  newHandshake,
  openBroadcast,
  readHandshakeFrame,
  sealBroadcast,
  verifyBroadcast,
  writeHandshakeFrame,
  type MemoryNetwork,
  type PeerInfo,
  type SealsigError,
  type Session,
} from '../src/index.js';
import { ed25519KeyPair, ready, x25519KeyPair } from '../src/sodium.js';
import { FIXED, generateVectors } from '../scripts/vectors.js';
import { waitFor } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(new URL(`../../../docs/test-vectors/${name}.json`, import.meta.url), 'utf8'));
const tick = () => new Promise((r) => setTimeout(r, 0));

beforeAll(ready);

/** The frames a session published since `from` (index into net.log), by its transport. */
function publishedSince(net: MemoryNetwork, from: number) {
  return net.log.slice(from).filter((p) => p.from >= 0);
}

describe('docs/test-vectors', () => {
  it('are exactly what the code generates', () => {
    for (const [name, content] of Object.entries(generateVectors())) {
      expect(load(name), `${name}.json is stale: run pnpm vectors`).toEqual(JSON.parse(JSON.stringify(content)));
    }
  });

  it('key schedule, inbox topics included', () => {
    const v = load('key-schedule');
    const s = deriveSession(v.session_id);
    expect(toHex(s.routeTag)).toBe(v.route_tag);
    expect(s.topic).toBe(v.topic);
    expect(toHex(s.memberIdKey)).toBe(v.member_id_key);
    expect(toHex(s.inboxKey)).toBe(v.inbox_key);
    expect(toHex(s.roomKey0)).toBe(v.room_key_epoch0);
    const e0 = deriveEpochKeys(0, s.roomKey0);
    expect([toHex(e0.broadcastKey), toHex(e0.psk)]).toEqual([v.broadcast_key_epoch0, v.noise_psk_epoch0]);
    const e1 = deriveEpochKeys(1, fromHex(v.room_key_epoch1));
    expect([toHex(e1.broadcastKey), toHex(e1.psk)]).toEqual([v.broadcast_key_epoch1, v.noise_psk_epoch1]);
    for (const m of v.members) {
      const kp = ed25519KeyPair(fromHex(m.ed25519_seed));
      expect(toHex(kp.publicKey)).toBe(m.ed25519_public);
      const id = memberIdOf(s.memberIdKey, kp.publicKey);
      expect(toHex(id)).toBe(m.member_id);
      expect(toHex(x25519KeyPair(fromHex(m.x25519_private)).publicKey)).toBe(m.x25519_public);
      const inbox = inboxTopic(s.topic, s.inboxKey, id, fromHex(m.instance));
      expect(inbox).toBe(m.inbox_topic);
      expect(inbox).toBe(`${v.topic}_${toBase64Url(fromHex(m.inbox_topic_suffix))}`);
      expect(inbox).toHaveLength(45);
    }
    // alice < bob < carol, bytewise: the initiator rule of the pairwise vectors and the negative steps rests on it.
    const ids = v.members.map((m: Json) => fromHex(m.member_id));
    expect(compareBytes(ids[0], ids[1])).toBeLessThan(0);
    expect(compareBytes(ids[1], ids[2])).toBeLessThan(0);
  });

  it('broadcast frames are reproduced from their inputs, and open in a real session', async () => {
    const v = load('broadcast');
    const ks = load('key-schedule');
    const member = (name: string) => ks.members.find((m: Json) => m.name === name);
    const key = fromHex(ks.broadcast_key_epoch0);
    for (const m of v.messages) {
      const frame = decodeFrame(fromHex(m.frame));
      expect(toHex(frame.ad)).toBe(m.header_bytes);
      const { type, payload } = decodeContent(fromHex(m.content));
      expect(type).toBe(m.type);
      const signing = ed25519KeyPair(fromHex(member(m.from).ed25519_seed));
      const sealed = sealBroadcast({ header: frame.header, key, signingKey: signing.privateKey, type, payload, nonce: fromHex(m.nonce) });
      expect(toHex(sealed), m.name).toBe(m.frame);
      const opened = openBroadcast(frame, key);
      expect(toHex(opened.signature)).toBe(m.signature);
      expect(verifyBroadcast(opened, signing.publicKey)).toBe(true);
      expect(frame.body.length - 24 - 16).toBe(m.padded_length);
    }
    // §6.5 The admission work of carol's hello.
    const w = v.work;
    expect(toHex(workHash(fromHex(ks.route_tag), fromHex(w.sender), fromHex(w.instance), w.timestamp, fromHex(w.nonce)))).toBe(w.work_hash);
    expect(helloEffort(fromHex(ks.route_tag), fromHex(w.sender), fromHex(w.instance), w.timestamp, fromHex(w.nonce))).toBe(w.effort);
    expect(w.effort).toBeGreaterThanOrEqual(8);
    const initRequest = v.messages.find((m: Json) => m.type === BroadcastType.initRequest);
    const [id, instance] = openBroadcast(decodeFrame(fromHex(initRequest.frame)), key).payload as Uint8Array[];
    expect([toHex(id!), toHex(instance!)]).toEqual([member('alice').member_id, member('alice').instance]);
    expect(initRequest.topic).toBe(member('alice').inbox_topic);

    const net = createMemoryNetwork();
    const receiver = await joinSession({ sessionId: v.session_id, transport: net.connect(), now: () => v.now });
    const joined: PeerInfo[] = [];
    const messages: unknown[] = [];
    receiver.on('peer-joined', (p) => joined.push(p));
    receiver.on('message', (m) => messages.push(m.value));
    const mark = net.log.length;
    // A receiver processes a frame the same way whatever topic delivered it (§3.6).
    for (const m of v.messages) net.inject(receiver.topic, fromHex(m.frame));
    await waitFor(() => joined.length === 3);
    await tick();
    expect(joined.map((p) => toHex(fromB64(p.id)))).toEqual(['alice', 'bob', 'carol'].map((n) => member(n).member_id));
    expect(joined.map((p) => p.meta)).toEqual([null, null, v.expected_meta]);
    expect(messages).toEqual([v.expected_app_value]);
    expect(receiver.stats.notForMe).toBe(1); // the init request names alice's instance
    expect(receiver.stats.dropped).toEqual({});
    // Hello replies (want_reply false) go to the inboxes of the members who asked (alice, carol), nowhere else.
    const replies = publishedSince(net, mark);
    expect(replies.map((p) => p.topic)).toEqual([member('alice').inbox_topic, member('carol').inbox_topic]);
    for (const p of replies) {
      const opened = openBroadcast(decodeFrame(p.frame), key);
      expect(opened.type).toBe(BroadcastType.hello);
      // §6.2 A reply is the receiver's latest hello again, byte for byte: here its joining hello (want_reply true).
      expect(toHex(p.frame)).toBe(toHex(net.log.find((q) => q.topic === receiver.topic)!.frame));
    }
    await receiver.close();
  });

  it('pairwise handshake and transport frames, byte for byte on both sides; a retry replaces the handshake', () => {
    const v = load('pairwise');
    expect(compareBytes(fromHex(v.alice.member_id), fromHex(v.bob.member_id))).toBeLessThan(0);
    expect(v.initiator).toBe(v.lower_member_id);
    const psk = fromHex(v.psk);
    const prologue = fromHex(v.prologue);
    const alice = x25519KeyPair(fromHex(v.alice.x25519_private));
    const bob = x25519KeyPair(fromHex(v.bob.x25519_private));
    const init = decodeFrame(fromHex(v.handshake[0].frame));
    const resp = decodeFrame(fromHex(v.handshake[1].frame));
    // Bob, the responder, recomputes his response from alice's init.
    const aliceEnd = { id: fromHex(v.alice.member_id), instance: fromHex(v.alice.instance) };
    const bobEnd = { id: fromHex(v.bob.member_id), instance: fromHex(v.bob.instance) };
    const tagKey = pairKey(deriveSession(v.session_id).routeTag, aliceEnd, alice, bobEnd, bob.publicKey);
    expect(toHex(tagKey)).toBe(v.pair_key);
    expect(toHex(pairKey(deriveSession(v.session_id).routeTag, bobEnd, bob, aliceEnd, alice.publicKey))).toBe(v.pair_key);
    const r = newHandshake({ initiator: false, prologue, s: bob, rs: alice.publicKey, psk, e: x25519KeyPair(fromHex(v.bob.ephemeral_private)) });
    readHandshakeFrame(r, init, tagKey);
    const out = writeHandshakeFrame(r, resp.header, tagKey);
    expect(toHex(out.frame)).toBe(v.handshake[1].frame);
    // Alice, the initiator, recomputes her init and reads bob's response.
    const i = newHandshake({ initiator: true, prologue, s: alice, rs: bob.publicKey, psk, e: x25519KeyPair(fromHex(v.alice.ephemeral_private)) });
    expect(toHex(writeHandshakeFrame(i, init.header, tagKey).frame)).toBe(v.handshake[0].frame);
    const split = readHandshakeFrame(i, resp, tagKey).split!;
    expect(toHex(i.handshakeHash)).toBe(v.handshake_hash);
    const keys = { alice: new ChannelKeys(split[0], split[1]), bob: new ChannelKeys(out.split![1], out.split![0]) };
    for (const t of v.transport) {
      const frame = fromHex(t.frame);
      const d = decodeFrame(frame);
      const sender = keys[t.from as 'alice' | 'bob'];
      const receiver = keys[t.from === 'alice' ? 'bob' : 'alice'];
      expect(toHex(sender.seal(d.header, t.type, t.payload))).toBe(t.frame);
      expect(receiver.open(d)).toEqual({ type: t.type, payload: t.payload });
      expect(() => receiver.open(d)).toThrow(/E_REPLAY/);
      expect(t.topic).toBe(v[t.from === 'alice' ? 'bob' : 'alice'].inbox_topic);
    }

    // The retry: alice keeps only the state of init 1; the answer to init 0 fails under it, resp_1 completes.
    const init1 = decodeFrame(fromHex(v.retry.init_1.frame));
    const resp1 = decodeFrame(fromHex(v.retry.resp_1.frame));
    const i1 = newHandshake({ initiator: true, prologue, s: alice, rs: bob.publicKey, psk, e: x25519KeyPair(fromHex(v.retry.alice_ephemeral_private)) });
    expect(toHex(writeHandshakeFrame(i1, init1.header, tagKey).frame)).toBe(v.retry.init_1.frame);
    const trial = i1.copy();
    expect(() => readHandshakeFrame(trial, resp, tagKey)).toThrow(new RegExp(v.retry.read_resp_to_init_0));
    const r1 = newHandshake({ initiator: false, prologue, s: bob, rs: alice.publicKey, psk, e: x25519KeyPair(fromHex(v.retry.bob_ephemeral_private)) });
    readHandshakeFrame(r1, init1, tagKey);
    expect(toHex(writeHandshakeFrame(r1, resp1.header, tagKey).frame)).toBe(v.retry.resp_1.frame);
    readHandshakeFrame(i1, resp1, tagKey);
    expect(toHex(i1.handshakeHash)).toBe(v.retry.handshake_hash_1);
  });

  it('negative steps give the documented outcome in a real session, which carries on', async () => {
    const v = load('negative');
    expect([v.max_age_ms, v.max_future_skew_ms, v.peer_timeout_ms]).toEqual([FIXED.maxAgeMs, FIXED.maxFutureSkewMs, FIXED.peerTimeoutMs]);
    const net = createMemoryNetwork();
    let now: number = v.now;
    const signing = ed25519KeyPair(fromHex(v.receiver.ed25519_seed));
    const receiver: Session = await joinSession({
      sessionId: v.session_id,
      transport: net.connect(),
      identity: { signing, dh: x25519KeyPair(fromHex(v.receiver.x25519_private)) },
      now: () => now,
      maxAgeMs: v.max_age_ms,
      maxFutureSkewMs: v.max_future_skew_ms,
      maxFrameBytes: v.max_frame_bytes,
      peerTimeoutMs: v.peer_timeout_ms,
      helloMaxAgeMs: v.hello_max_age_ms,
    });
    expect(toHex(fromB64(receiver.id))).toBe(v.receiver.member_id);
    const ownHello = net.log.find((p) => p.topic === receiver.topic)!.frame;
    const errors: string[] = [];
    const events: string[] = [];
    receiver.on('error', (e: SealsigError) => errors.push(e.code));
    for (const type of ['peer-joined', 'message', 'peer-left', 'signal'] as const) receiver.on(type, () => events.push(type));
    const signals: { description?: unknown; candidate?: unknown }[] = [];
    receiver.on('signal', (s) => signals.push(s));
    const broadcastKey = deriveEpochKeys(0, deriveSession(v.session_id).roomKey0).broadcastKey;
    /** A handshake frame with a pair tag (§7.2) between its sender and the running receiver, whose instance is random. */
    const taggedFrame = (step: Json): Uint8Array => {
      const m = v.senders.find((x: Json) => x.name === step.from);
      const from = { id: fromHex(m.member_id), instance: fromHex(m.instance) };
      const to = { id: fromB64(receiver.id), instance: fromB64(receiver.instance) };
      const key = pairKey(deriveSession(v.session_id).routeTag, from, x25519KeyPair(fromHex(m.x25519_private)), to, x25519KeyPair(fromHex(v.receiver.x25519_private)).publicKey);
      const ad = encodeHeader({
        version: PROTOCOL_VERSION, suite: SUITE_V1, kind: step.kind, route: deriveSession(v.session_id).routeTag, sender: from.id, instance: from.instance,
        recipient: to.id, epoch: step.epoch, counter: step.counter, timestamp: step.timestamp,
      });
      const message = fromHex(step.message);
      const tag = pairTag(key, ad, message);
      if (step.tag === 'flipped') tag[tag.length - 1]! ^= 0x01;
      return encodeFrame(ad, concatBytes(tag, message));
    };

    for (const step of v.steps) {
      const before = { errors: errors.length, events: events.length, duplicates: receiver.stats.duplicates, log: net.log.length };
      if (step.advance_ms !== undefined) {
        now += step.advance_ms;
        // The receiver's housekeeping runs every second of real time.
        await waitFor(() => errors.length - before.errors >= step.expect_errors.length && events.length - before.events >= step.events.length, 5000);
        await tick();
        expect(errors.slice(before.errors), step.name).toEqual(step.expect_errors);
        expect(events.slice(before.events), step.name).toEqual(step.events);
        continue;
      }
      const frame = step.zeros ? new Uint8Array(step.zeros) : step.send === 'handshake' ? taggedFrame(step) : fromHex(step.frame);
      net.inject(step.topic === 'inbox' ? receiver.inbox : receiver.topic, frame);
      await tick();
      const newErrors = errors.slice(before.errors);
      const newEvents = events.slice(before.events);
      const replayed = receiver.stats.duplicates - before.duplicates;
      if (step.expect === 'E_REPLAY') {
        expect({ replayed, newErrors, newEvents }, step.name).toEqual({ replayed: 1, newErrors: [], newEvents: [] });
      } else if (step.expect === 'accept' || step.expect === 'ignore') {
        expect({ replayed, newErrors, newEvents }, step.name).toEqual({ replayed: 0, newErrors: [], newEvents: step.event ? [step.event] : [] });
      } else {
        expect({ replayed, newErrors, newEvents }, step.name).toEqual({ replayed: 0, newErrors: [step.expect], newEvents: [] });
      }
      if (step.publishes !== undefined) {
        const published = publishedSince(net, before.log).map((p) => {
          const opened = openBroadcast(decodeFrame(p.frame), broadcastKey);
          const out: Json = { topic: p.topic, kind: decodeFrame(p.frame).header.kind, type: opened.type, want_reply: (opened.payload as unknown[])[2] };
          if (toHex(p.frame) === toHex(ownHello)) out.copy_of_own_hello = true;
          return out;
        });
        expect(published, step.name).toEqual(step.publishes);
      }
    }
    expect(receiver.peers.map((p) => toHex(fromB64(p.id)))).toEqual(v.peers_after_steps);
    expect(receiver.peers.find((p) => toHex(fromB64(p.id)) === v.senders[1].member_id)!.instance).toBe(toBase64Url(fromHex('c8'.repeat(8))));

    // The channel steps: alice, played here at the frame layer, sets up a channel with the running receiver.
    const ks = deriveSession(v.session_id);
    const psk = deriveEpochKeys(0, ks.roomKey0).psk;
    const a = v.senders.find((m: Json) => m.name === 'alice');
    const alice = { id: fromHex(a.member_id), instance: fromHex(a.instance), dh: x25519KeyPair(fromHex(a.x25519_private)), signing: ed25519KeyPair(fromHex(a.ed25519_seed)) };
    const bob = { id: fromB64(receiver.id), instance: fromB64(receiver.instance) };
    /** A header of a frame `from` sends the receiver (bob). */
    const headerFrom = (from: { id: Uint8Array; instance: Uint8Array }) => (kind: number, counter: number, timestamp: number, recipient: Uint8Array | null = bob.id) => ({
      version: PROTOCOL_VERSION, suite: SUITE_V1, kind: kind as FrameKind, route: ks.routeTag, sender: from.id, instance: from.instance, recipient, epoch: 0, counter, timestamp,
    });
    /** An init request (§7.6) from `from` naming the receiver. */
    const initRequestFrom = (from: { id: Uint8Array; instance: Uint8Array; signing: { privateKey: Uint8Array } }, counter: number, timestamp: number) =>
      sealBroadcast({
        header: headerFrom(from)(FrameKind.broadcast, counter, timestamp, null),
        key: deriveEpochKeys(0, ks.roomKey0).broadcastKey,
        signingKey: from.signing.privateKey,
        type: BroadcastType.initRequest,
        payload: [bob.id, bob.instance],
      });
    const header = headerFrom(alice);
    const tagKey = pairKey(ks.routeTag, alice, alice.dh, bob, x25519KeyPair(fromHex(v.receiver.x25519_private)).publicKey);
    const handshakes: ReturnType<typeof newHandshake>[] = [];
    const sending: CipherState[] = [];
    const sent = new Map<string, Uint8Array>();
    let last: Uint8Array | undefined;
    /** The sending key of channel k: alice reads the k-th resp the receiver published on her inbox. */
    const sendingKey = (k: number) => {
      if (sending[k] === undefined) {
        const resps = net.log.filter((p) => p.topic === a.inbox_topic && decodeFrame(p.frame).header.kind === FrameKind.handshakeResp);
        sending[k] = readHandshakeFrame(handshakes[k]!, decodeFrame(resps[k]!.frame), tagKey).split![0];
      }
      return sending[k]!;
    };
    for (const step of v.channel_steps) {
      const before = { errors: errors.length, events: events.length, duplicates: receiver.stats.duplicates, log: net.log.length };
      let frame: Uint8Array;
      if (step.send === 'repeat') frame = step.of ? sent.get(step.of)! : last!;
      else if (step.send === 'init') {
        const hs = newHandshake({
          initiator: true,
          prologue: pairwisePrologue(ks.routeTag, alice, bob),
          s: alice.dh,
          rs: x25519KeyPair(fromHex(v.receiver.x25519_private)).publicKey,
          psk,
          e: x25519KeyPair(fromHex(step.ephemeral_private)),
        });
        frame = writeHandshakeFrame(hs, header(FrameKind.handshakeInit, step.counter, step.timestamp), tagKey).frame;
        if (step.expect === 'accept') handshakes.push(hs);
      } else if (step.send === 'init-request') {
        frame = initRequestFrom(alice, step.counter, step.timestamp);
      } else {
        const ad = encodeHeader(header(FrameKind.direct, step.counter, step.timestamp));
        const body = step.body ? fromHex(step.body) : sendingKey(step.channel).encryptWithNonce(step.counter, ad, step.padded ? fromHex(step.padded) : pad(fromHex(step.content)));
        if (step.tamper) body[body.length - 1]! ^= 0x01;
        frame = encodeFrame(ad, body);
      }
      last = frame;
      sent.set(step.name, frame);
      net.inject(receiver.inbox, frame);
      await tick();
      const newErrors = errors.slice(before.errors);
      const newEvents = events.slice(before.events);
      const replayed = receiver.stats.duplicates - before.duplicates;
      const expected =
        step.expect === 'E_REPLAY'
          ? { replayed: 1, newErrors: [], newEvents: [] }
          : step.expect === 'accept'
            ? { replayed: 0, newErrors: [], newEvents: step.event ? [step.event] : [] }
            : { replayed: 0, newErrors: [step.expect], newEvents: [] };
      expect({ replayed, newErrors, newEvents }, step.name).toEqual(expected);
      if (step.publishes !== undefined) {
        const published = publishedSince(net, before.log).map((p) => ({ topic: p.topic, kind: decodeFrame(p.frame).header.kind }));
        expect(published, step.name).toEqual(step.publishes);
      }
    }
    // The initiator steps: carol, played here at the frame layer, answers the running receiver's init.
    const cm = v.senders.find((m: Json) => m.name === 'carol');
    const carol = { id: fromHex(cm.member_id), instance: fromHex('c8'.repeat(8)), dh: x25519KeyPair(fromHex(cm.x25519_private)), signing: ed25519KeyPair(fromHex(cm.ed25519_seed)) };
    const carolKey = pairKey(ks.routeTag, bob, x25519KeyPair(fromHex(v.receiver.x25519_private)), carol, carol.dh.publicKey);
    const carolHeader = headerFrom(carol);
    for (const step of v.initiator_steps) {
      const before = { errors: errors.length, events: events.length, duplicates: receiver.stats.duplicates, log: net.log.length };
      if (step.send === 'receiver-sends') {
        void receiver.send(toBase64Url(carol.id), step.value);
      } else {
        let frame: Uint8Array;
        if (step.send === 'resp') {
          const init = [...net.log].reverse().find((p) => p.from !== -1 && decodeFrame(p.frame).header.kind === FrameKind.handshakeInit)!;
          const hs = newHandshake({ initiator: false, prologue: pairwisePrologue(ks.routeTag, bob, carol), s: carol.dh, rs: x25519KeyPair(fromHex(v.receiver.x25519_private)).publicKey, psk, e: x25519KeyPair(fromHex(step.ephemeral_private)) });
          readHandshakeFrame(hs, decodeFrame(init.frame), carolKey);
          frame = writeHandshakeFrame(hs, carolHeader(FrameKind.handshakeResp, step.counter, step.timestamp), carolKey).frame;
        } else frame = initRequestFrom(carol, step.counter, step.timestamp);
        net.inject(receiver.inbox, frame);
      }
      await tick();
      const expected = step.expect === 'accept' || step.expect === 'ignore' ? { replayed: 0, newErrors: [], newEvents: [] } : { replayed: 0, newErrors: [step.expect], newEvents: [] };
      expect({ replayed: receiver.stats.duplicates - before.duplicates, newErrors: errors.slice(before.errors), newEvents: events.slice(before.events) }, step.name).toEqual(expected);
      const published = publishedSince(net, before.log).map((p) => ({ topic: p.topic, kind: decodeFrame(p.frame).header.kind }));
      expect(published, step.name).toEqual(step.publishes);
    }
    expect(signals.map((s) => ('description' in s ? s.description : s.candidate))).toEqual([
      { type: 'offer', sdp: 'v=0\r\n', x: 1 },
      { candidate: 'candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host', sdpMid: null, sdpMLineIndex: null, usernameFragment: null, foo: true },
      null,
    ]);
    await receiver.close();
  });
});

const fromB64 = (s: string): Uint8Array => fromBase64Url(s)!;
