/**
 * Property tests of sealing (§6, §7): what is sealed opens to the same value; what a non-member or
 * another member produces does not open, or is rejected by the Session.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BroadcastType, openBroadcast, sealBroadcast, verifyBroadcast } from '../src/broadcast.js';
import { fromBase64Url } from '../src/bytes.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, type Header } from '../src/envelope.js';
import { SealsigError } from '../src/errors.js';
import { createSessionId, deriveEpochKeys, deriveSession, memberIdOf } from '../src/kdf.js';
import { createMemoryNetwork, type MemoryNetwork } from '../src/memory-transport.js';
import { ChannelKeys, DirectType, newHandshake, pairwisePrologue, readHandshakeFrame, writeHandshakeFrame, type Endpoint } from '../src/pairwise.js';
import { pairKey } from '../src/pair-tag.js';
import { joinSession, type Identity, type Session } from '../src/session.js';
import { ed25519KeyPair, randomBytes, ready, x25519KeyPair, type KeyPair } from '../src/sodium.js';
import { expectCode, waitFor } from './helpers.js';

beforeAll(async () => {
  await ready();
});

// --- helpers ------------------------------------------------------------------------------------------



/** True if some object in v has an own key "__proto__" (@msgpack/msgpack refuses to decode one). */
function hasProtoKey(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) return v.some(hasProtoKey);
  return Object.keys(v).includes('__proto__') || Object.values(v).some(hasProtoKey);
}

/** What msgpack gives back for v: @msgpack/msgpack writes -0 as the integer 0 (as JSON does). */
function afterMsgpack(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(afterMsgpack);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, afterMsgpack(x)]));
}

/** msgpack-able values: JSON values (with unicode strings) mixed with byte strings, at any depth. */
const valueArb: fc.Arbitrary<unknown> = fc
  .letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), tie('value'), { maxKeys: 4, noNullPrototype: true }),
    ),
  }))
  .value.filter((v) => !hasProtoKey(v));

function header(over: Partial<Header> & Pick<Header, 'kind'>): Header {
  return {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    route: randomBytes(16),
    sender: randomBytes(16),
    instance: randomBytes(8),
    recipient: over.kind === FrameKind.broadcast ? null : randomBytes(16),
    epoch: 0,
    counter: 0,
    timestamp: Date.now(),
    ...over,
  };
}

interface Member {
  ep: Endpoint;
  dh: KeyPair;
}
const member = (): Member => ({ ep: { id: randomBytes(16), instance: randomBytes(8) }, dh: x25519KeyPair() });

/** Runs the Noise KKpsk0 handshake of session.ts between initiator i and responder r; returns both ends. */
function channel(route: Uint8Array, i: Member, r: Member, psk: Uint8Array, rPsk = psk) {
  const hdr = (kind: FrameKind, from: Endpoint, to: Endpoint): Header =>
    header({ kind, route, sender: from.id, instance: from.instance, recipient: to.id });
  const hi = newHandshake({ initiator: true, prologue: pairwisePrologue(route, i.ep, r.ep), s: i.dh, rs: r.dh.publicKey, psk });
  const hr = newHandshake({ initiator: false, prologue: pairwisePrologue(route, i.ep, r.ep), s: r.dh, rs: i.dh.publicKey, psk: rPsk });
  const tagKey = pairKey(route, i.ep, i.dh, r.ep, r.dh.publicKey);
  const init = writeHandshakeFrame(hi, hdr(FrameKind.handshakeInit, i.ep, r.ep), tagKey).frame;
  readHandshakeFrame(hr, decodeFrame(init), pairKey(route, r.ep, r.dh, i.ep, i.dh.publicKey));
  const resp = writeHandshakeFrame(hr, hdr(FrameKind.handshakeResp, r.ep, i.ep), tagKey);
  const { split } = readHandshakeFrame(hi, decodeFrame(resp.frame), tagKey);
  const send = new ChannelKeys(split![0], split![1]);
  const recv = new ChannelKeys(resp.split![1], resp.split![0]);
  const seal = (keys: ChannelKeys, from: Endpoint, to: Endpoint, type: number, payload: unknown) =>
    keys.seal(header({ kind: FrameKind.direct, route, sender: from.id, instance: from.instance, recipient: to.id, counter: keys.nextCounter() }), type, payload);
  return { i: send, r: recv, seal, init };
}

// --- round trips ----------------------------------------------------------------------------------------

describe('open(seal(m)) = m', () => {
  it('broadcasts: openBroadcast + verifyBroadcast return the sealed type and value', () => {
    const secrets = deriveSession(createSessionId());
    const { broadcastKey } = deriveEpochKeys(0, secrets.roomKey0);
    const signer = ed25519KeyPair();
    const sender = memberIdOf(secrets.memberIdKey, signer.publicKey);
    let counter = 0;
    fc.assert(
      fc.property(valueArb, fc.integer({ min: 0, max: 0xffff }), (value, type) => {
        const frame = sealBroadcast({
          header: header({ kind: FrameKind.broadcast, route: secrets.routeTag, sender, counter: counter++ }),
          key: broadcastKey,
          signingKey: signer.privateKey,
          type,
          payload: value,
        });
        const opened = openBroadcast(decodeFrame(frame, 1 << 20), broadcastKey);
        expect(verifyBroadcast(opened, signer.publicKey)).toBe(true);
        expect(opened.type).toBe(type);
        expect(opened.payload).toEqual(afterMsgpack(value));
        // Another member's key does not verify it.
        expect(verifyBroadcast(opened, ed25519KeyPair().publicKey)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('direct messages: ChannelKeys.open(ChannelKeys.seal(m)) = m, both directions, in any order', () => {
    const route = randomBytes(16);
    const a = member();
    const b = member();
    const ch = channel(route, a, b, randomBytes(32));
    fc.assert(
      fc.property(fc.array(fc.tuple(valueArb, fc.constantFrom(DirectType.app, DirectType.description, DirectType.candidate, 77)), { minLength: 1, maxLength: 6 }), fc.boolean(), (msgs, reverse) => {
        const ab = msgs.map(([v, t]) => ch.seal(ch.i, a.ep, b.ep, t, v));
        const ba = msgs.map(([v, t]) => ch.seal(ch.r, b.ep, a.ep, t, v));
        const order = msgs.map((_, k) => (reverse ? msgs.length - 1 - k : k));
        for (const k of order) {
          expect(ch.r.open(decodeFrame(ab[k]!, 1 << 20))).toEqual({ type: msgs[k]![1], payload: afterMsgpack(msgs[k]![0]) });
          expect(ch.i.open(decodeFrame(ba[k]!, 1 << 20))).toEqual({ type: msgs[k]![1], payload: afterMsgpack(msgs[k]![0]) });
        }
        // And never twice.
        for (const f of ab) expectCode(() => ch.r.open(decodeFrame(f, 1 << 20)), 'E_REPLAY');
      }),
      { numRuns: 150 },
    );
  });
});

// --- non-members and other members, at the function level ----------------------------------------------

describe('keys of another session or another channel open nothing', () => {
  it('a broadcast sealed by a non-member (another session id, the right route tag) fails with E_AUTH_FAILED', () => {
    const real = deriveSession(createSessionId());
    const realKey = deriveEpochKeys(0, real.roomKey0).broadcastKey;
    fc.assert(
      fc.property(
        valueArb,
        fc.constantFrom(BroadcastType.hello, BroadcastType.bye, BroadcastType.app),
        fc.constantFrom<'other-session' | 'random-key' | 'other-epoch'>('other-session', 'random-key', 'other-epoch'),
        fc.nat(0xffffffff),
        (value, type, how, epoch) => {
          const key =
            how === 'other-session'
              ? deriveEpochKeys(epoch, deriveSession(createSessionId()).roomKey0).broadcastKey
              : how === 'random-key'
                ? randomBytes(32)
                : deriveEpochKeys(epoch, randomBytes(32)).broadcastKey; // a guessed later room key
          const signer = ed25519KeyPair();
          const frame = sealBroadcast({
            header: header({ kind: FrameKind.broadcast, route: real.routeTag, sender: memberIdOf(real.memberIdKey, signer.publicKey), epoch }),
            key,
            signingKey: signer.privateKey,
            type,
            payload: value,
          });
          expectCode(() => openBroadcast(decodeFrame(frame, 1 << 20), realKey), 'E_AUTH_FAILED');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a handshake with the wrong psk fails (E_AUTH_FAILED), and another channel cannot open a direct frame', () => {
    const route = randomBytes(16);
    const a = member();
    const b = member();
    const c = member();
    const psk = randomBytes(32);
    // A non-member knows every public value but not the room psk: the responder rejects its init.
    expect(() => channel(route, a, b, randomBytes(32), psk)).toThrow(expect.objectContaining({ code: 'E_AUTH_FAILED' }));
    const ab = channel(route, a, b, psk);
    const ac = channel(route, a, c, psk); // c is a member: it holds the psk and a channel with a
    fc.assert(
      fc.property(valueArb, (value) => {
        const frame = ab.seal(ab.i, a.ep, b.ep, DirectType.app, value);
        // c cannot read a's message to b, with its own channel with a in either direction...
        expectCode(() => ac.r.open(decodeFrame(frame, 1 << 20)), 'E_AUTH_FAILED');
        expectCode(() => ac.i.open(decodeFrame(frame, 1 << 20)), 'E_AUTH_FAILED');
        // ... nor can a channel between the same two endpoints built with another psk.
        const other = channel(route, a, b, randomBytes(32));
        expectCode(() => other.r.open(decodeFrame(frame, 1 << 20)), 'E_AUTH_FAILED');
        // The recipient can.
        expect(ab.r.open(decodeFrame(frame, 1 << 20)).payload).toEqual(afterMsgpack(value));
      }),
      { numRuns: 60 },
    );
    // A handshake init replayed to a responder of another instance fails: the prologue names both instances.
    const b2: Member = { ep: { id: b.ep.id, instance: randomBytes(8) }, dh: b.dh };
    const hr = newHandshake({ initiator: false, prologue: pairwisePrologue(route, a.ep, b2.ep), s: b2.dh, rs: a.dh.publicKey, psk });
    expectCode(() => readHandshakeFrame(hr, decodeFrame(ab.init), pairKey(route, b2.ep, b2.dh, a.ep, a.dh.publicKey)), 'E_AUTH_FAILED');
  });
});

// --- forgeries against real sessions ------------------------------------------------------------------------

describe('Session rejects forged broadcasts', () => {
  let net: MemoryNetwork;
  let sessionId: string;
  let a: Session;
  let b: Session;
  let c: Session;
  let cIdentity: Identity;
  const inB: unknown[] = [];
  const errorsB: SealsigError[] = [];
  const leftB: unknown[] = [];
  const joinedB: unknown[] = [];

  beforeAll(async () => {
    net = createMemoryNetwork();
    sessionId = createSessionId();
    cIdentity = { signing: ed25519KeyPair(), dh: x25519KeyPair() };
    a = await joinSession({ sessionId, transport: net.connect() });
    b = await joinSession({ sessionId, transport: net.connect() });
    c = await joinSession({ sessionId, transport: net.connect(), identity: cIdentity });
    await waitFor(() => a.peers.length === 2 && b.peers.length === 2 && c.peers.length === 2);
    b.on('message', (m) => inB.push(m.value));
    b.on('error', (e) => errorsB.push(e));
    b.on('peer-left', (e) => leftB.push(e));
    // A new 'peer-joined' listener also hears of the live peers (a and c); only later joins count here.
    const present = new Set(b.peers.map((p) => p.id + p.instance));
    b.on('peer-joined', (e) => {
      if (!present.delete(e.id + e.instance)) joinedB.push(e);
    });
  });

  afterAll(async () => {
    await Promise.all([a, b, c].map((s) => s?.close()));
  });

  /** What member C can build: the room's keys, derived from the session id it holds. */
  function roomKeys() {
    const secrets = deriveSession(sessionId);
    return { route: secrets.routeTag, key: deriveEpochKeys(0, secrets.roomKey0).broadcastKey };
  }

  it('C forging a broadcast from A (A id and instance, signed with C key) is dropped by B with E_AUTH_FAILED', async () => {
    const { route, key } = roomKeys();
    const before = { ...b.stats.dropped };
    const forged = sealBroadcast({
      header: header({ kind: FrameKind.broadcast, route, sender: fromBase64Url(a.id)!, instance: fromBase64Url(a.instance)!, counter: 5000 }),
      key,
      signingKey: cIdentity.signing.privateKey,
      type: BroadcastType.app,
      payload: 'forged by C',
    });
    net.inject(b.topic, forged);
    await net.settle();
    expect(inB).toEqual([]);
    expect((b.stats.dropped.E_AUTH_FAILED ?? 0) - (before.E_AUTH_FAILED ?? 0)).toBe(1);
    expect(errorsB.at(-1)?.code).toBe('E_AUTH_FAILED');
    // The forgery did not move B's window for A: A's next genuine broadcast (counter far below 5000 - 1024) arrives.
    await a.broadcast('genuine');
    await waitFor(() => inB.length === 1);
    expect(inB).toEqual(['genuine']);
    // Nor can C forge A's bye.
    const bye = sealBroadcast({
      header: header({ kind: FrameKind.broadcast, route, sender: fromBase64Url(a.id)!, instance: fromBase64Url(a.instance)!, counter: 5001 }),
      key,
      signingKey: cIdentity.signing.privateKey,
      type: BroadcastType.bye,
      payload: null,
    });
    net.inject(b.topic, bye);
    await net.settle();
    expect(leftB).toEqual([]);
    expect(b.peers.map((p) => p.id)).toContain(a.id);
  });

  it('property: no forgery by C in A name is ever delivered, removes A, or adds a peer', async () => {
    const { route, key } = roomKeys();
    const aSigning = b.peers.find((p) => p.id === a.id)!.signingKey;
    const aId = fromBase64Url(a.id)!;
    const aInstance = fromBase64Url(a.instance)!;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(BroadcastType.hello, BroadcastType.bye, BroadcastType.app, 9),
        fc.boolean(), // A's own instance, or a new one ("A rejoined")
        fc.integer({ min: 100, max: Number.MAX_SAFE_INTEGER }),
        valueArb,
        async (type, sameInstance, counter, value) => {
          const before = { messages: inB.length, auth: b.stats.dropped.E_AUTH_FAILED ?? 0 };
          // A hello names A's own signing key so that the member id matches; the signature is C's.
          const payload = type === BroadcastType.hello ? [aSigning, cIdentity.dh.publicKey, false, null, null] : value;
          const frame = sealBroadcast({
            header: header({ kind: FrameKind.broadcast, route, sender: aId, instance: sameInstance ? aInstance : randomBytes(8), counter }),
            key,
            signingKey: cIdentity.signing.privateKey,
            type,
            payload,
          });
          net.inject(b.topic, frame);
          await net.settle();
          expect(inB.length).toBe(before.messages);
          // Known instance: signature check fails. New instance: a hello fails its signature check; anything
          // else waits for a hello that never comes (E_UNKNOWN_SENDER at the peer timeout).
          if (sameInstance || type === BroadcastType.hello) expect(b.stats.dropped.E_AUTH_FAILED ?? 0).toBe(before.auth + 1);
        },
      ),
      { numRuns: 40 },
    );
    expect(leftB).toEqual([]);
    expect(joinedB).toEqual([]);
    expect(b.peers.find((p) => p.id === a.id)?.instance).toBe(a.instance);
  });

  it('C claiming A id with C own key in the hello fails the member-id check (E_AUTH_FAILED)', async () => {
    const { route, key } = roomKeys();
    const before = b.stats.dropped.E_AUTH_FAILED ?? 0;
    const frame = sealBroadcast({
      header: header({ kind: FrameKind.broadcast, route, sender: fromBase64Url(a.id)!, instance: randomBytes(8) }),
      key,
      signingKey: cIdentity.signing.privateKey,
      type: BroadcastType.hello,
      payload: [cIdentity.signing.publicKey, cIdentity.dh.publicKey, true, null, null],
    });
    net.inject(b.topic, frame);
    await net.settle();
    expect(b.stats.dropped.E_AUTH_FAILED).toBe(before + 1);
    expect(errorsB.at(-1)?.message).toMatch(/member id/);
    expect(joinedB).toEqual([]);
  });

  it('a non-member with the route tag but not the key is dropped with E_AUTH_FAILED', async () => {
    const route = fromBase64Url(b.topic)!; // public: the relay sees it
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'random-key' | 'other-session'>('random-key', 'other-session'),
        fc.constantFrom(BroadcastType.hello, BroadcastType.app),
        fc.boolean(),
        valueArb,
        async (how, type, asA, value) => {
          const before = { messages: inB.length, auth: b.stats.dropped.E_AUTH_FAILED ?? 0 };
          const signer = ed25519KeyPair();
          const key = how === 'random-key' ? randomBytes(32) : deriveEpochKeys(0, deriveSession(createSessionId()).roomKey0).broadcastKey;
          const frame = sealBroadcast({
            header: header({
              kind: FrameKind.broadcast,
              route,
              sender: asA ? fromBase64Url(a.id)! : randomBytes(16),
              instance: asA ? fromBase64Url(a.instance)! : randomBytes(8),
              counter: 10_000 + inB.length,
            }),
            key,
            signingKey: signer.privateKey,
            type,
            payload: type === BroadcastType.hello ? [signer.publicKey, x25519KeyPair().publicKey, true, null, null] : value,
          });
          net.inject(b.topic, frame);
          await net.settle();
          expect(inB.length).toBe(before.messages);
          expect(b.stats.dropped.E_AUTH_FAILED ?? 0).toBe(before.auth + 1);
        },
      ),
      { numRuns: 30 },
    );
    expect(joinedB).toEqual([]);
    expect(b.peers).toHaveLength(2);
  });
});
