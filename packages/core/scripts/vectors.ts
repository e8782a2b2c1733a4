/**
 * Deterministic test vectors for docs/test-vectors/ (docs/PROTOCOL.md §12). Every key, nonce and timestamp
 * is fixed, so an implementation in another language can reproduce every byte.
 *
 * `pnpm vectors` writes the files; packages/core/test/vectors.test.ts regenerates them and fails when
 * they differ from the committed ones, then runs each through our own code paths.
 */
import { toBase64Url, toHex, u32be } from '../src/bytes.js';
import { BroadcastType, sealBroadcast } from '../src/broadcast.js';
import { encodeContent } from '../src/codec.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, encodeHeader, type Header } from '../src/envelope.js';
import { Labels, deriveEpochKeys, deriveSession, kdf, memberIdOf } from '../src/kdf.js';
import { paddedLength } from '../src/padding.js';
import {
  ChannelKeys,
  DirectType,
  NOISE_PROTOCOL_NAME,
  newHandshake,
  pairwisePrologue,
  readHandshakeFrame,
  writeHandshakeFrame,
} from '../src/pairwise.js';
import { SIGNATURE_BYTES, ed25519KeyPair, x25519KeyPair } from '../src/sodium.js';

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

/** The fixed inputs every vector file shares. */
export const FIXED = {
  sessionIdBytes: seq(16),
  /** 2026-11-24T00:00:00Z */
  now: 1_795_478_400_000,
  alice: { signingSeed: fill(32, 0xa1), dhPrivate: fill(32, 0xa2), ephemeral: fill(32, 0xa3), instance: fill(8, 0xa4) },
  bob: { signingSeed: fill(32, 0xb1), dhPrivate: fill(32, 0xb2), ephemeral: fill(32, 0xb3), instance: fill(8, 0xb4) },
  mallory: { signingSeed: fill(32, 0xc1), instance: fill(8, 0xc4) },
  broadcastNonce: seq(24, 0x40),
  maxAgeMs: 120_000,
  maxFutureSkewMs: 30_000,
};

function member(m: { signingSeed: Uint8Array; dhPrivate?: Uint8Array; instance: Uint8Array }, memberIdKey: Uint8Array) {
  const signing = ed25519KeyPair(m.signingSeed);
  const dh = x25519KeyPair(m.dhPrivate ?? fill(32, 0x99));
  return { signing, dh, id: memberIdOf(memberIdKey, signing.publicKey), instance: m.instance };
}

function hdr(h: Omit<Header, 'version' | 'suite'>): Header {
  return { version: PROTOCOL_VERSION, suite: SUITE_V1, ...h };
}

function headerJson(h: Header) {
  return {
    version: h.version,
    suite: h.suite,
    kind: h.kind,
    route: toHex(h.route),
    sender: toHex(h.sender),
    instance: toHex(h.instance),
    recipient: h.recipient === null ? null : toHex(h.recipient),
    epoch: h.epoch,
    counter: h.counter,
    timestamp: h.timestamp,
  };
}

export function generateVectors(): Record<string, unknown> {
  const sessionId = toBase64Url(FIXED.sessionIdBytes);
  const root = kdf(FIXED.sessionIdBytes, Labels.root, new Uint8Array(0), 32);
  const s = deriveSession(sessionId);
  const epoch0 = deriveEpochKeys(0, s.roomKey0);
  const alice = member(FIXED.alice, s.memberIdKey);
  const bob = member(FIXED.bob, s.memberIdKey);
  const mallory = member(FIXED.mallory, s.memberIdKey);
  const roomKey1 = fill(32, 0xe1);
  const epoch1 = deriveEpochKeys(1, roomKey1);

  // --- key schedule -----------------------------------------------------------------------------------
  const keySchedule = {
    description: 'Key derivation (PROTOCOL.md §3). All byte strings are hex.',
    kdf: 'BLAKE2b-L(key = key, message = UTF8(label) || 0x00 || info)',
    session_id: sessionId,
    session_id_bytes: toHex(FIXED.sessionIdBytes),
    second_factor: '',
    root: toHex(root),
    route_tag: toHex(s.routeTag),
    topic: s.topic,
    member_id_key: toHex(s.memberIdKey),
    room_key_epoch0: toHex(s.roomKey0),
    room_key_info_epoch0: toHex(u32be(0)),
    broadcast_key_epoch0: toHex(epoch0.broadcastKey),
    noise_psk_epoch0: toHex(epoch0.psk),
    room_key_epoch1: toHex(roomKey1),
    broadcast_key_epoch1: toHex(epoch1.broadcastKey),
    noise_psk_epoch1: toHex(epoch1.psk),
    members: [alice, bob].map((m, i) => ({
      name: i === 0 ? 'alice' : 'bob',
      ed25519_seed: toHex(i === 0 ? FIXED.alice.signingSeed : FIXED.bob.signingSeed),
      ed25519_public: toHex(m.signing.publicKey),
      x25519_private: toHex(m.dh.privateKey),
      x25519_public: toHex(m.dh.publicKey),
      member_id: toHex(m.id),
    })),
  };

  // --- broadcasts -------------------------------------------------------------------------------------
  const bHeader = (counter: number, extra: Partial<Header> = {}) =>
    hdr({ kind: FrameKind.broadcast, route: s.routeTag, sender: alice.id, instance: alice.instance, recipient: null, epoch: 0, counter, timestamp: FIXED.now, ...extra });
  const hello = { header: bHeader(0), type: BroadcastType.hello, payload: [alice.signing.publicKey, alice.dh.publicKey, true, null] };
  const chat = { header: bHeader(1), type: BroadcastType.app, payload: { text: 'hello, room', n: 42 } };
  const sealB = (m: { header: Header; type: number; payload: unknown }, key = epoch0.broadcastKey, signingKey = alice.signing.privateKey) =>
    sealBroadcast({ header: m.header, key, signingKey, type: m.type, payload: m.payload, nonce: FIXED.broadcastNonce });
  const helloFrame = sealB(hello);
  const chatFrame = sealB(chat);
  const broadcastCase = (name: string, m: { header: Header; type: number; payload: unknown }, frame: Uint8Array) => {
    const content = encodeContent(m.type, m.payload).slice();
    return {
      name,
      header: headerJson(m.header),
      header_bytes: toHex(encodeHeader(m.header)),
      type: m.type,
      content: toHex(content),
      padded_length: paddedLength(content.length + SIGNATURE_BYTES),
      nonce: toHex(FIXED.broadcastNonce),
      frame: toHex(frame),
    };
  };
  const broadcast = {
    description:
      'Sealed broadcasts (PROTOCOL.md §6) from alice, epoch 0, receiver clock = now. content = msgpack([type, payload]); ' +
      'the hello payload is [ed25519_public, x25519_public, want_reply, meta]; the app payload is {"text": "hello, room", "n": 42}.',
    session_id: sessionId,
    now: FIXED.now,
    signing_seed: toHex(FIXED.alice.signingSeed),
    messages: [broadcastCase('hello', hello, helloFrame), broadcastCase('app', chat, chatFrame)],
    expected_app_value: chat.payload,
  };

  // --- pairwise ---------------------------------------------------------------------------------------
  const prologue = pairwisePrologue(s.routeTag, alice, bob);
  const initiator = newHandshake({ initiator: true, prologue, s: alice.dh, rs: bob.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.alice.ephemeral) });
  const responder = newHandshake({ initiator: false, prologue, s: bob.dh, rs: alice.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.bob.ephemeral) });
  const dHeader = (kind: FrameKind, from: typeof alice, to: typeof alice, counter: number, dt: number) =>
    hdr({ kind, route: s.routeTag, sender: from.id, instance: from.instance, recipient: to.id, epoch: 0, counter, timestamp: FIXED.now + dt });
  const init = writeHandshakeFrame(initiator, dHeader(FrameKind.handshakeInit, alice, bob, 0, 0));
  readHandshakeFrame(responder, decodeFrame(init.frame));
  const resp = writeHandshakeFrame(responder, dHeader(FrameKind.handshakeResp, bob, alice, 0, 5));
  const [r1, r2] = resp.split!;
  const { split } = readHandshakeFrame(initiator, decodeFrame(resp.frame));
  const [i1, i2] = split!;
  const handshakeHash = toHex(initiator.handshakeHash);
  const aliceKeys = new ChannelKeys(i1, i2);
  const bobKeys = new ChannelKeys(r2, r1);
  const transport: unknown[] = [];
  const sendDirect = (from: 'alice' | 'bob', type: number, payload: unknown, dt: number) => {
    const [keys, me, other] = from === 'alice' ? [aliceKeys, alice, bob] : [bobKeys, bob, alice];
    const h = dHeader(FrameKind.direct, me, other, keys.nextCounter(), dt);
    const frame = keys.seal(h, type, payload);
    transport.push({ from, header: headerJson(h), type, payload, content: toHex(encodeContent(type, payload).slice()), frame: toHex(frame) });
  };
  sendDirect('alice', DirectType.confirm, null, 10);
  sendDirect('alice', DirectType.description, { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' }, 11);
  sendDirect('bob', DirectType.description, { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n' }, 20);
  sendDirect('bob', DirectType.candidate, { candidate: 'candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }, 21);
  sendDirect('alice', DirectType.app, 'thanks', 30);
  initiator.destroy();
  responder.destroy();
  const pairwise = {
    description:
      'A pairwise channel (PROTOCOL.md §7): Noise_KKpsk0_25519_ChaChaPoly_BLAKE2b, alice initiates to bob with the epoch-0 psk; ' +
      'then explicit-nonce transport frames (nonce = header counter), each content = msgpack([type, payload]) padded (§5.3).',
    protocol_name: NOISE_PROTOCOL_NAME,
    session_id: sessionId,
    prologue: toHex(prologue),
    psk: toHex(epoch0.psk),
    alice: { x25519_private: toHex(alice.dh.privateKey), x25519_public: toHex(alice.dh.publicKey), ephemeral_private: toHex(FIXED.alice.ephemeral), member_id: toHex(alice.id), instance: toHex(alice.instance) },
    bob: { x25519_private: toHex(bob.dh.privateKey), x25519_public: toHex(bob.dh.publicKey), ephemeral_private: toHex(FIXED.bob.ephemeral), member_id: toHex(bob.id), instance: toHex(bob.instance) },
    handshake: [
      { name: 'init', from: 'alice', header: headerJson(decodeFrame(init.frame).header), frame: toHex(init.frame) },
      { name: 'resp', from: 'bob', header: headerJson(decodeFrame(resp.frame).header), frame: toHex(resp.frame) },
    ],
    handshake_hash: handshakeHash,
    transport,
  };
  aliceKeys.destroy();
  bobKeys.destroy();

  // --- negative cases ---------------------------------------------------------------------------------
  const flip = (f: Uint8Array, byte: number) => {
    const c = f.slice();
    c[byte]! ^= 0x01;
    return c;
  };
  const forged = sealB({ header: bHeader(7), type: BroadcastType.app, payload: 'i am alice' }, epoch0.broadcastKey, mallory.signing.privateKey);
  const epoch1Frame = sealB({ header: bHeader(8, { epoch: 1 }), type: BroadcastType.app, payload: 'epoch 1' }, epoch1.broadcastKey);
  const stale = sealB({ header: bHeader(9, { timestamp: FIXED.now - FIXED.maxAgeMs - 1 }), type: BroadcastType.app, payload: 'old' });
  const future = sealB({ header: bHeader(10, { timestamp: FIXED.now + FIXED.maxFutureSkewMs + 1 }), type: BroadcastType.app, payload: 'future' });
  const otherSession = deriveSession(toBase64Url(seq(16, 0x80)));
  const nonMember = sealB(
    { header: bHeader(11, { route: s.routeTag }), type: BroadcastType.app, payload: 'outsider' },
    deriveEpochKeys(0, otherSession.roomKey0).broadcastKey,
  );
  const version1 = helloFrame.slice();
  version1[1] = 0x01;
  const negative = {
    description:
      'Frames fed in order to a fresh member of the session (clock = now, maxAgeMs 120000, maxFutureSkewMs 30000, max frame 65536 bytes, ' +
      'epoch 0). "accept" means the frame is delivered; otherwise the frame is dropped with that error code and the member carries on.',
    session_id: sessionId,
    now: FIXED.now,
    max_age_ms: FIXED.maxAgeMs,
    max_future_skew_ms: FIXED.maxFutureSkewMs,
    max_frame_bytes: 65536,
    steps: [
      { name: 'hello from alice', frame: toHex(helloFrame), expect: 'accept' },
      { name: 'tampered ciphertext (last byte flipped)', frame: toHex(flip(chatFrame, chatFrame.length - 1)), expect: 'E_AUTH_FAILED' },
      { name: 'tampered header (timestamp byte flipped)', frame: toHex(flip(chatFrame, encodeHeader(chat.header).length - 1)), expect: 'E_AUTH_FAILED' },
      { name: 'app broadcast from alice', frame: toHex(chatFrame), expect: 'accept' },
      { name: 'the same frame replayed', frame: toHex(chatFrame), expect: 'E_REPLAY' },
      { name: 'stale timestamp', frame: toHex(stale), expect: 'E_STALE' },
      { name: 'timestamp too far in the future', frame: toHex(future), expect: 'E_STALE' },
      { name: 'sealed under epoch 1, not installed', frame: toHex(epoch1Frame), expect: 'E_EPOCH' },
      { name: "mallory's signature on alice's id", frame: toHex(forged), expect: 'E_AUTH_FAILED' },
      { name: "another session's key under this route tag", frame: toHex(nonMember), expect: 'E_AUTH_FAILED' },
      { name: 'protocol version 1', frame: toHex(version1), expect: 'E_VERSION' },
      { name: 'truncated by one byte', frame: toHex(chatFrame.subarray(0, chatFrame.length - 1)), expect: 'E_FRAME_MALFORMED' },
      { name: 'one trailing byte', frame: toHex(Uint8Array.from([...chatFrame, 0])), expect: 'E_FRAME_MALFORMED' },
      { name: 'larger than the maximum (65537 zero bytes)', zeros: 65537, expect: 'E_FRAME_TOO_LARGE' },
    ],
  };

  return { 'key-schedule': keySchedule, broadcast, pairwise, negative };
}
