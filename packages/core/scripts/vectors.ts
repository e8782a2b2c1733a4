/**
 * Deterministic test vectors for docs/test-vectors/ (docs/PROTOCOL.md §12). Every key, nonce and timestamp
 * is fixed, so an implementation in another language can reproduce every byte.
 *
 * `pnpm vectors` writes the files; packages/core/test/vectors.test.ts regenerates them and fails when
 * they differ from the committed ones, then runs each through our own code paths (broadcasts and negative
 * steps through a real Session, the pairwise channel on both sides).
 */
import { concatBytes, toBase64Url, toHex, u32be, u64be, utf8 } from '../src/bytes.js';
import { helloEffort, workHash } from '../src/admission.js';
import { scenarioVectors } from './scenarios.js';
import { BroadcastType, sealBroadcast } from '../src/broadcast.js';
import { encodeContent } from '../src/codec.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, encodeFrame, encodeHeader, type Header } from '../src/envelope.js';
import { SealsigError } from '../src/errors.js';
import { Labels, deriveEpochKeys, deriveSession, inboxTopic, kdf, memberIdOf } from '../src/kdf.js';
import { pad, paddedLength } from '../src/padding.js';
import { PAIR_TAG_BYTES, pairKey } from '../src/pair-tag.js';
import {
  ChannelKeys,
  DirectType,
  NOISE_PROTOCOL_NAME,
  newHandshake,
  pairwisePrologue,
  readHandshakeFrame,
  writeHandshakeFrame,
} from '../src/pairwise.js';
import { SIGNATURE_BYTES, ed25519KeyPair, ed25519Sign, x25519, x25519KeyPair, xchachaSeal } from '../src/sodium.js';

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

/** The fixed inputs every vector file shares. */
export const FIXED = {
  sessionIdBytes: seq(16),
  /** 2026-11-24T00:00:00Z */
  now: 1_795_478_400_000,
  /** alice's member id is below bob's, and bob's below carol's (bytewise), in the fixed session. */
  alice: {
    signingSeed: fill(32, 0xa0),
    dhPrivate: fill(32, 0xa2),
    ephemeral: fill(32, 0xa3),
    instance: fill(8, 0xa4),
    /** Her second init (a retry, §7.5). */
    retryEphemeral: fill(32, 0xa7),
    /** An earlier instance of alice (negative.json). */
    earlierInstance: fill(8, 0xa8),
  },
  bob: { signingSeed: fill(32, 0xb1), dhPrivate: fill(32, 0xb2), ephemeral: fill(32, 0xb3), instance: fill(8, 0xb4), retryEphemeral: fill(32, 0xb7) },
  carol: { signingSeed: fill(32, 0xc5), dhPrivate: fill(32, 0xc2), instance: fill(8, 0xc4) },
  /** A sender that never says hello (negative.json). */
  dave: { signingSeed: fill(32, 0xd1), dhPrivate: fill(32, 0xd2), instance: fill(8, 0xd4) },
  /** A member who forges (negative.json). */
  mallory: { signingSeed: fill(32, 0xf1), dhPrivate: fill(32, 0xf2), instance: fill(8, 0xf4) },
  /** A member whose hellos test the largest hello age R (negative.json). */
  erin: { signingSeed: fill(32, 0xe1), dhPrivate: fill(32, 0xe2), instance: fill(8, 0xe4) },
  /** Two later instances of carol (negative.json: the admission limit, §6.4). */
  carolLater: [fill(8, 0xc7), fill(8, 0xc8)],
  helloMaxAgeMs: 30_000,
  broadcastNonce: seq(24, 0x40),
  maxAgeMs: 120_000,
  maxFutureSkewMs: 30_000,
  peerTimeoutMs: 35_000,
  maxFrameBytes: 65_536,
};

type Fixed = { signingSeed: Uint8Array; dhPrivate: Uint8Array; instance: Uint8Array };
type Member = ReturnType<typeof member>;

function member(name: string, m: Fixed, memberIdKey: Uint8Array) {
  const signing = ed25519KeyPair(m.signingSeed);
  const dh = x25519KeyPair(m.dhPrivate);
  return { name, fixed: m, signing, dh, id: memberIdOf(memberIdKey, signing.publicKey), instance: m.instance };
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

/** The member's public description in a vector file. */
function memberJson(m: Member, topic: string, inboxKey: Uint8Array) {
  return {
    name: m.name,
    ed25519_seed: toHex(m.fixed.signingSeed),
    ed25519_public: toHex(m.signing.publicKey),
    x25519_private: toHex(m.dh.privateKey),
    x25519_public: toHex(m.dh.publicKey),
    member_id: toHex(m.id),
    instance: toHex(m.instance),
    inbox_topic: inboxTopic(topic, inboxKey, m.id, m.instance),
  };
}

const SIGNATURE_CONTEXT = concatBytes(utf8('sealsig/v3/broadcast-signature'), new Uint8Array(1));

/** Replaces `del` bytes at `at` with `bytes`: the canonical-encoding cases of the envelope. */
function splice(frame: Uint8Array, at: number, del: number, ...bytes: number[]): Uint8Array {
  return Uint8Array.from([...frame.subarray(0, at), ...bytes, ...frame.subarray(at + del)]);
}

function flip(f: Uint8Array, byte: number): Uint8Array {
  const c = f.slice();
  c[byte]! ^= 0x01;
  return c;
}

export function generateVectors(): Record<string, unknown> {
  const sessionId = toBase64Url(FIXED.sessionIdBytes);
  const root = kdf(FIXED.sessionIdBytes, Labels.root, new Uint8Array(0), 32);
  const s = deriveSession(sessionId);
  const epoch0 = deriveEpochKeys(0, s.roomKey0);
  const alice = member('alice', FIXED.alice, s.memberIdKey);
  const bob = member('bob', FIXED.bob, s.memberIdKey);
  const carol = member('carol', FIXED.carol, s.memberIdKey);
  const dave = member('dave', FIXED.dave, s.memberIdKey);
  const mallory = member('mallory', FIXED.mallory, s.memberIdKey);
  const erin = member('erin', FIXED.erin, s.memberIdKey);
  const roomKey1 = fill(32, 0xe1);
  const epoch1 = deriveEpochKeys(1, roomKey1);
  const inboxOf = (m: Member, instance = m.instance) => inboxTopic(s.topic, s.inboxKey, m.id, instance);

  // --- key schedule -----------------------------------------------------------------------------------
  const keySchedule = {
    description:
      'Key derivation (PROTOCOL.md §3). All byte strings are hex. KDF(key, label, info, L) = BLAKE2b(outlen = L, key = key, ' +
      'message = UTF8(label) || 0x00 || info). root = KDF(session_id_bytes, "sealsig/v3/root", second_factor, 32); route_tag = ' +
      'KDF(root, "sealsig/v3/route", "", 16); topic = base64url(route_tag); member_id_key = KDF(root, "sealsig/v3/member-id", "", 32); ' +
      'room_key_epoch0 = KDF(root, "sealsig/v3/room-key", u32be(0), 32); inbox_key = KDF(root, "sealsig/v3/inbox", "", 32); per epoch, ' +
      'broadcast_key = KDF(room_key, "sealsig/v3/broadcast", "", 32) and noise_psk = KDF(room_key, "sealsig/v3/noise-psk", "", 32) ' +
      '(room_key_epoch1 is a given key, as the rooms layer would install). Each member: ed25519 key pair from the 32-byte seed ' +
      '(RFC 8032), x25519_public = X25519(x25519_private, 9), member_id = BLAKE2b(outlen = 16, key = member_id_key, ' +
      'message = ed25519_public); its inbox topic for the given instance (§3.6) = topic || "_" || base64url(KDF(inbox_key, ' +
      '"sealsig/v3/inbox-topic", member_id || instance, 16)), 45 characters. Member ids compare bytewise: alice < bob < carol.',
    kdf: 'BLAKE2b-L(key = key, message = UTF8(label) || 0x00 || info)',
    session_id: sessionId,
    session_id_bytes: toHex(FIXED.sessionIdBytes),
    second_factor: '',
    root: toHex(root),
    route_tag: toHex(s.routeTag),
    topic: s.topic,
    member_id_key: toHex(s.memberIdKey),
    inbox_key: toHex(s.inboxKey),
    room_key_epoch0: toHex(s.roomKey0),
    room_key_info_epoch0: toHex(u32be(0)),
    broadcast_key_epoch0: toHex(epoch0.broadcastKey),
    noise_psk_epoch0: toHex(epoch0.psk),
    room_key_epoch1: toHex(roomKey1),
    broadcast_key_epoch1: toHex(epoch1.broadcastKey),
    noise_psk_epoch1: toHex(epoch1.psk),
    members: [alice, bob, carol].map((m) => ({
      ...memberJson(m, s.topic, s.inboxKey),
      inbox_topic_info: toHex(concatBytes(m.id, m.instance)),
      inbox_topic_suffix: toHex(kdf(s.inboxKey, Labels.inboxTopic, concatBytes(m.id, m.instance), 16)),
    })),
  };

  // --- broadcasts -------------------------------------------------------------------------------------
  const bHeader = (from: Member, counter: number, extra: Partial<Header> = {}) =>
    hdr({ kind: FrameKind.broadcast, route: s.routeTag, sender: from.id, instance: from.instance, recipient: null, epoch: 0, counter, timestamp: FIXED.now, ...extra });
  const helloPayload = (m: Member, wantReply: boolean, meta: unknown = null, work: Uint8Array | null = null) => [m.signing.publicKey, m.dh.publicKey, wantReply, meta, work];
  interface Msg {
    from: Member;
    header: Header;
    type: number;
    payload: unknown;
  }
  const sealB = (m: Msg, key = epoch0.broadcastKey, signingKey = m.from.signing.privateKey) =>
    sealBroadcast({ header: m.header, key, signingKey, type: m.type, payload: m.payload, nonce: FIXED.broadcastNonce });

  const hello: Msg = { from: alice, header: bHeader(alice, 0), type: BroadcastType.hello, payload: helloPayload(alice, true) };
  const chat: Msg = { from: alice, header: bHeader(alice, 1), type: BroadcastType.app, payload: { text: 'hello, room', n: 42 } };
  const carolMeta = { name: 'carol', color: 7 };
  // §6.5 carol puts 8 bits of admission work into her hello: the first nonce u64be(i) that gives them.
  let workNonce = u64be(0);
  for (let i = 0; helloEffort(s.routeTag, carol.id, carol.instance, FIXED.now + 20, workNonce) < 8; i++) workNonce = u64be(i + 1);
  const carolHello: Msg = { from: carol, header: bHeader(carol, 0, { timestamp: FIXED.now + 20 }), type: BroadcastType.hello, payload: helloPayload(carol, true, carolMeta, workNonce) };
  // bob's own joining hello (counter 0) is not listed: the reply is his second broadcast.
  const bobReply: Msg = { from: bob, header: bHeader(bob, 1, { timestamp: FIXED.now + 5 }), type: BroadcastType.hello, payload: helloPayload(bob, false) };
  const initRequest: Msg = {
    from: bob,
    header: bHeader(bob, 2, { timestamp: FIXED.now + 10 }),
    type: BroadcastType.initRequest,
    payload: [alice.id, alice.instance],
  };
  const broadcastCase = (name: string, m: Msg, topic: string, note: string) => {
    const content = encodeContent(m.type, m.payload).slice();
    const ad = encodeHeader(m.header);
    const signature = ed25519Sign(m.from.signing.privateKey, concatBytes(SIGNATURE_CONTEXT, ad, content));
    return {
      name,
      from: m.from.name,
      topic,
      note,
      header: headerJson(m.header),
      header_bytes: toHex(ad),
      type: m.type,
      content: toHex(content),
      signature: toHex(signature),
      unpadded_length: content.length + SIGNATURE_BYTES,
      padded_length: paddedLength(content.length + SIGNATURE_BYTES),
      nonce: toHex(FIXED.broadcastNonce),
      frame: toHex(sealB(m)),
    };
  };
  const broadcast = {
    description:
      'Sealed broadcasts (PROTOCOL.md §6), epoch 0, every one with the same nonce (a real sender draws a random nonce per frame). ' +
      'content = msgpack([type, payload]) (§5.1); signature = Ed25519-Sign(sender, "sealsig/v3/broadcast-signature" || 0x00 || ' +
      'header_bytes || content); the padded plaintext is content || signature (unpadded_length bytes) padded to padded_length = ' +
      'max(256, Padmé(unpadded_length + 1)) (§5.3); frame = header_bytes || bin(nonce || XChaCha20-Poly1305(broadcast_key_epoch0, ' +
      'nonce, padded plaintext, ad = header_bytes)). Keys and inbox topics are in key-schedule.json. To check: reproduce each frame ' +
      'from its inputs, then feed the frames in order to a fresh member of the session whose clock is now (a member that is none ' +
      'of alice, bob, carol): alice joins (peer-joined; the member publishes its hello reply to alice\'s inbox topic: a copy of its ' +
      'own joining hello, §6.2), alice\'s app message is delivered (expected_app_value), bob joins through his hello reply (no reply published: ' +
      'want_reply is false), bob\'s init request is authenticated and ignored (it names alice\'s instance, not the receiver), carol ' +
      'joins with her meta (expected_meta) and gets a hello reply on her inbox (the same copy); no frame is refused.',
    session_id: sessionId,
    now: FIXED.now,
    messages: [
      broadcastCase('hello', hello, s.topic, "alice joins: hello with want_reply true and meta nil, on the session topic"),
      broadcastCase('app', chat, s.topic, 'an app broadcast (type 3) from alice, on the session topic'),
      broadcastCase('hello reply', bobReply, inboxOf(alice), "bob's directed reply to alice's hello: want_reply false, published on alice's inbox topic alone (§6.2)"),
      broadcastCase(
        'init request',
        initRequest,
        inboxOf(alice),
        "bob (the higher member id) asks alice (the lower) for a handshake: type 4, payload [alice's member_id, alice's instance], on alice's inbox topic (§7.6)",
      ),
      broadcastCase('hello with meta', carolHello, s.topic, 'carol joins with meta {"name": "carol", "color": 7} (§6.2) and a work nonce (§6.5, "work" below)'),
    ],
    expected_app_value: chat.payload,
    expected_meta: carolMeta,
    work: {
      description:
        'Admission work of carol\'s hello (§6.5): work_hash = KDF(route_tag, "sealsig/v3/hello-work", info, 32) with info = sender || ' +
        'instance || u64be(timestamp) || nonce; effort = the leading zero bits of work_hash (at least 8 here: nonce is the first ' +
        'u64be(i), i = 0, 1, ..., that gives 8).',
      sender: toHex(carol.id),
      instance: toHex(carol.instance),
      timestamp: FIXED.now + 20,
      nonce: toHex(workNonce),
      info: toHex(concatBytes(carol.id, carol.instance, u64be(FIXED.now + 20), workNonce)),
      work_hash: toHex(workHash(s.routeTag, carol.id, carol.instance, FIXED.now + 20, workNonce)),
      effort: helloEffort(s.routeTag, carol.id, carol.instance, FIXED.now + 20, workNonce),
    },
  };

  // --- pairwise ---------------------------------------------------------------------------------------
  const prologue = pairwisePrologue(s.routeTag, alice, bob);
  const tagKey = pairKey(s.routeTag, alice, alice.dh, bob, bob.dh.publicKey);
  const initiator = newHandshake({ initiator: true, prologue, s: alice.dh, rs: bob.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.alice.ephemeral) });
  const responder = newHandshake({ initiator: false, prologue, s: bob.dh, rs: alice.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.bob.ephemeral) });
  const dHeader = (kind: FrameKind, from: Member, to: Member, counter: number, dt: number, epoch = 0) =>
    hdr({ kind, route: s.routeTag, sender: from.id, instance: from.instance, recipient: to.id, epoch, counter, timestamp: FIXED.now + dt });
  const init = writeHandshakeFrame(initiator, dHeader(FrameKind.handshakeInit, alice, bob, 0, 0), tagKey);
  readHandshakeFrame(responder, decodeFrame(init.frame), tagKey);
  const resp = writeHandshakeFrame(responder, dHeader(FrameKind.handshakeResp, bob, alice, 0, 5), tagKey);
  const [r1, r2] = resp.split!;

  // The retry (§7.5): alice's init 0 got no answer in time, so she sent init 1 with a new ephemeral and
  // keeps only its HandshakeState. The answer to init 0 fails under it; bob's answer to init 1 completes.
  const initiator1 = newHandshake({ initiator: true, prologue, s: alice.dh, rs: bob.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.alice.retryEphemeral) });
  const init1 = writeHandshakeFrame(initiator1, dHeader(FrameKind.handshakeInit, alice, bob, 1, 1000), tagKey);
  const trial = initiator1.copy();
  let staleRespError = 'accepted';
  try {
    readHandshakeFrame(trial, decodeFrame(resp.frame), tagKey);
  } catch (e) {
    staleRespError = e instanceof SealsigError ? e.code : String(e);
  }
  trial.destroy();
  const responder1 = newHandshake({ initiator: false, prologue, s: bob.dh, rs: alice.dh.publicKey, psk: epoch0.psk, e: x25519KeyPair(FIXED.bob.retryEphemeral) });
  readHandshakeFrame(responder1, decodeFrame(init1.frame), tagKey);
  const resp1 = writeHandshakeFrame(responder1, dHeader(FrameKind.handshakeResp, bob, alice, 0, 1005), tagKey);
  readHandshakeFrame(initiator1, decodeFrame(resp1.frame), tagKey);
  const retryHash = toHex(initiator1.handshakeHash);
  for (const c of [...resp1.split!]) c.destroy();
  initiator1.destroy();
  responder1.destroy();

  const { split } = readHandshakeFrame(initiator, decodeFrame(resp.frame), tagKey);
  const [i1, i2] = split!;
  const handshakeHash = toHex(initiator.handshakeHash);
  const aliceKeys = new ChannelKeys(i1, i2);
  const bobKeys = new ChannelKeys(r2, r1);
  const transport: unknown[] = [];
  const sendDirect = (from: 'alice' | 'bob', type: number, payload: unknown, dt: number) => {
    const [keys, me, other] = from === 'alice' ? [aliceKeys, alice, bob] : [bobKeys, bob, alice];
    const h = dHeader(FrameKind.direct, me, other, keys.nextCounter(), dt);
    const content = encodeContent(type, payload).slice();
    const frame = keys.seal(h, type, payload);
    transport.push({ from, topic: inboxOf(other), header: headerJson(h), type, payload, content: toHex(content), padded_length: paddedLength(content.length), frame: toHex(frame) });
  };
  sendDirect('alice', DirectType.confirm, null, 10);
  sendDirect('alice', DirectType.description, { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n' }, 11);
  sendDirect('bob', DirectType.description, { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\n' }, 20);
  sendDirect('bob', DirectType.candidate, { candidate: 'candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }, 21);
  sendDirect('alice', DirectType.app, 'thanks', 30);
  initiator.destroy();
  responder.destroy();
  const endpointJson = (m: Member, ephemeral: Uint8Array) => ({
    x25519_private: toHex(m.dh.privateKey),
    x25519_public: toHex(m.dh.publicKey),
    ephemeral_private: toHex(ephemeral),
    member_id: toHex(m.id),
    instance: toHex(m.instance),
    inbox_topic: inboxOf(m),
  });
  const pairwise = {
    description:
      'A pairwise channel (PROTOCOL.md §7): Noise_KKpsk0_25519_ChaChaPoly_BLAKE2b with psk = noise_psk_epoch0 and prologue = ' +
      '"sealsig/v3/pairwise" || route_tag || alice member_id || alice instance || bob member_id || bob instance. alice is the ' +
      'initiator because her member id is the lower one (bytewise; §7.5); bob is the responder. Each handshake message\'s payload ' +
      'is its own frame\'s header bytes (§7.2). After the resp, alice sends with c1 and receives with c2 (Noise Split), bob the ' +
      'reverse. The transport frames are explicit-nonce ChaCha20-Poly1305 (nonce = 0x00000000 || u64le(header counter)) over ' +
      'pad(content) (§5.3) with ad = header bytes (§7.3), each published on the recipient\'s inbox topic. Each handshake frame\'s ' +
      'body is pair_tag || noise message (§7.2): static_static_dh = X25519(alice x25519_private, bob x25519_public) (= X25519(bob, ' +
      'alice)); pair_key = KDF(static_static_dh, "sealsig/v3/pair-key", pair_key_info, 32) with pair_key_info = route_tag || lower ' +
      'member_id || its instance || higher member_id || its instance; pair_tag = KDF(pair_key, "sealsig/v3/pair-tag", header_bytes ' +
      '|| noise message, 16). To check: run the ' +
      'handshake from both sides with the fixed ephemerals and compare every frame and the handshake hash, then open each ' +
      'transport frame on the receiving side (it gives type and payload) and open it a second time (E_REPLAY). "retry" is another ' +
      'run: alice\'s init 0 got no answer within the retry delay, so she sent init 1 with a new ephemeral and keeps only the ' +
      'HandshakeState of init 1 (§7.5): reading "resp" (the answer to init 0) with it fails with read_resp_to_init_0, and ' +
      'resp_1 (bob\'s answer to init 1, with his own new ephemeral) completes the handshake with handshake_hash_1.',
    protocol_name: NOISE_PROTOCOL_NAME,
    session_id: sessionId,
    initiator: 'alice',
    lower_member_id: 'alice',
    prologue: toHex(prologue),
    psk: toHex(epoch0.psk),
    static_static_dh: toHex(x25519(alice.dh.privateKey, bob.dh.publicKey)),
    pair_key_info: toHex(concatBytes(s.routeTag, alice.id, alice.instance, bob.id, bob.instance)),
    pair_key: toHex(tagKey),
    alice: endpointJson(alice, FIXED.alice.ephemeral),
    bob: endpointJson(bob, FIXED.bob.ephemeral),
    handshake: [
      { name: 'init', from: 'alice', topic: inboxOf(bob), header: headerJson(decodeFrame(init.frame).header), pair_tag: toHex(decodeFrame(init.frame).body.subarray(0, PAIR_TAG_BYTES)), frame: toHex(init.frame) },
      { name: 'resp', from: 'bob', topic: inboxOf(alice), header: headerJson(decodeFrame(resp.frame).header), pair_tag: toHex(decodeFrame(resp.frame).body.subarray(0, PAIR_TAG_BYTES)), frame: toHex(resp.frame) },
    ],
    handshake_hash: handshakeHash,
    transport,
    retry: {
      alice_ephemeral_private: toHex(FIXED.alice.retryEphemeral),
      bob_ephemeral_private: toHex(FIXED.bob.retryEphemeral),
      init_1: { header: headerJson(decodeFrame(init1.frame).header), frame: toHex(init1.frame) },
      read_resp_to_init_0: staleRespError,
      resp_1: { header: headerJson(decodeFrame(resp1.frame).header), frame: toHex(resp1.frame) },
      handshake_hash_1: retryHash,
    },
  };
  aliceKeys.destroy();
  bobKeys.destroy();

  const scenarios = scenarioVectors({
    sessionId,
    now: FIXED.now,
    receiver: FIXED.bob,
    alice: FIXED.alice,
    dave: FIXED.dave,
    nonce: FIXED.broadcastNonce,
    parameters: {
      max_age_ms: FIXED.maxAgeMs,
      max_future_skew_ms: FIXED.maxFutureSkewMs,
      peer_timeout_ms: FIXED.peerTimeoutMs,
      hello_max_age_ms: FIXED.helloMaxAgeMs,
      epoch_grace_ms: 10_000,
      handshake_retry_ms: 1_000,
      max_frame_bytes: FIXED.maxFrameBytes,
      max_held_bytes: 1 << 20,
    },
  });
  return { 'key-schedule': keySchedule, broadcast, pairwise, scenarios, negative: negativeVectors({ sessionId, s, epoch0, epoch1, alice, bob, carol, dave, mallory, erin, sealB, bHeader, dHeader, helloPayload, inboxOf }) };
}

interface NegativeInputs {
  sessionId: string;
  s: ReturnType<typeof deriveSession>;
  epoch0: ReturnType<typeof deriveEpochKeys>;
  epoch1: ReturnType<typeof deriveEpochKeys>;
  alice: Member;
  bob: Member;
  carol: Member;
  dave: Member;
  mallory: Member;
  erin: Member;
  sealB: (m: { from: Member; header: Header; type: number; payload: unknown }, key?: Uint8Array, signingKey?: Uint8Array) => Uint8Array;
  bHeader: (from: Member, counter: number, extra?: Partial<Header>) => Header;
  dHeader: (kind: FrameKind, from: Member, to: Member, counter: number, dt: number, epoch?: number) => Header;
  helloPayload: (m: Member, wantReply: boolean, meta?: unknown) => unknown[];
  inboxOf: (m: Member, instance?: Uint8Array) => string;
}

/**
 * negative.json: frames fed in order to one receiver, bob, with fixed keys (and a random instance, as every
 * join has). Every receiver error code that frames can cause, and the silent outcomes, each through a real
 * Session in test/vectors.test.ts.
 */
function negativeVectors(v: NegativeInputs) {
  const { s, epoch0, epoch1, alice, bob, carol, dave, mallory, erin, sealB, bHeader, dHeader, helloPayload } = v;
  const now = FIXED.now;
  const app = (from: Member, counter: number, payload: unknown, extra: Partial<Header> = {}, key = epoch0.broadcastKey, signingKey = from.signing.privateKey) =>
    sealB({ from, header: bHeader(from, counter, extra), type: BroadcastType.app, payload }, key, signingKey);
  const helloFrame = (from: Member, counter: number, payload: unknown, extra: Partial<Header> = {}, signingKey = from.signing.privateKey) =>
    sealB({ from, header: bHeader(from, counter, extra), type: BroadcastType.hello, payload }, epoch0.broadcastKey, signingKey);

  /** A broadcast sealed from raw parts: any content bytes (signed as §6.1 says) and any padded plaintext. */
  const sealRaw = (header: Header, opts: { content?: Uint8Array; padded?: (plain: Uint8Array) => Uint8Array; body?: Uint8Array }) => {
    const ad = encodeHeader(header);
    if (opts.body) return encodeFrame(ad, opts.body);
    const content = opts.content!;
    const signer = [alice, bob, carol, dave, mallory].find((m) => m.id === header.sender)!;
    const signature = ed25519Sign(signer.signing.privateKey, concatBytes(SIGNATURE_CONTEXT, ad, content));
    const plain = concatBytes(content, signature);
    const padded = opts.padded ? opts.padded(plain) : pad(plain);
    return encodeFrame(ad, concatBytes(FIXED.broadcastNonce, xchachaSeal(epoch0.broadcastKey, FIXED.broadcastNonce, padded, ad)));
  };
  const padTo = (size: number, marker = true) => (plain: Uint8Array) => {
    const out = new Uint8Array(size);
    out.set(plain);
    if (marker) out[plain.length] = 0x80;
    return out;
  };
  const content = (...bytes: number[]) => Uint8Array.from(bytes);
  const str = (t: string) => [0xa0 + t.length, ...utf8(t)]; // a fixstr

  // The base frame for the envelope cases: an app broadcast from alice (counter 3, never sent genuinely).
  // Its header: 9b | 02 | 01 | 01 | c4 10 route | c4 10 sender | c4 08 instance | c0 | 00 | 03 | cf timestamp(8) | c5 len body.
  const base = app(alice, 3, 'base');
  const R = 4; // offset of the route's bin head
  const RECIPIENT = 50;
  const directBase = encodeFrame(encodeHeader(dHeader(FrameKind.direct, carol, bob, 0, 0)), seq(40, 0x30));

  const otherSession = deriveSession(toBase64Url(seq(16, 0x80)));
  const otherKey = deriveEpochKeys(0, otherSession.roomKey0).broadcastKey;
  const metaOf = (n: number) => 'm'.repeat(n); // a str of n bytes encodes in n + 3 bytes (str 16) when 256 <= n
  const smallOrder = Uint8Array.from([0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00]);

  const later = now + FIXED.peerTimeoutMs + 1;
  const carolHello = helloFrame(carol, 6, helloPayload(carol, false, metaOf(1021)), { timestamp: now + 1 });
  const garbageInit = (counter: number, length: number, extra: { epoch?: number } = {}) =>
    encodeFrame(encodeHeader(dHeader(FrameKind.handshakeInit, alice, bob, counter, 2, extra.epoch ?? 0)), seq(length, 0x10));
  const initAd = encodeHeader(dHeader(FrameKind.handshakeInit, alice, bob, 0, 2)).length;

  type Published = { topic: string; kind: number; type?: number; want_reply?: boolean; copy_of_own_hello?: boolean };
  type Step = {
    name: string;
    topic: 'session' | 'inbox';
    expect: string;
    event?: string;
    publishes?: Published[];
    frame?: string;
    zeros?: number;
    advance_ms?: number;
    expect_errors?: string[];
    events?: string[];
    send?: 'handshake';
    from?: string;
    kind?: number;
    counter?: number;
    timestamp?: number;
    epoch?: number;
    message?: string;
    tag?: 'valid' | 'flipped';
  };
  // §6.2 A reply is a copy of the receiver's latest hello while that is at most R / 2 old: here its joining hello.
  const helloReplyTo = (m: Member): Published[] => [{ topic: v.inboxOf(m), kind: FrameKind.broadcast, type: BroadcastType.hello, want_reply: true, copy_of_own_hello: true }];
  const steps: Step[] = [];
  const step = (name: string, topic: 'session' | 'inbox', frame: Uint8Array, expect: string, more: Partial<Step> = {}) =>
    steps.push({ name, topic, frame: toHex(frame), expect, ...more });

  // Envelope (§4): refused by the decoder before anything else, whatever the receiver knows.
  steps.push({ name: 'larger than the maximum frame size (65,537 zero bytes)', topic: 'session', zeros: 65_537, expect: 'E_FRAME_TOO_LARGE' });
  step('empty frame', 'session', new Uint8Array(0), 'E_FRAME_MALFORMED');
  step('array head 0x9a (10 elements)', 'session', splice(base, 0, 1, 0x9a), 'E_FRAME_MALFORMED');
  step('array head written as array 16 (dc 00 0b): not canonical', 'session', splice(base, 0, 1, 0xdc, 0x00, 0x0b), 'E_FRAME_MALFORMED');
  step('version 1', 'session', splice(base, 1, 1, 0x01), 'E_VERSION');
  step('suite 2', 'session', splice(base, 2, 1, 0x02), 'E_VERSION');
  step('version 2 written as uint 8 (cc 02): not canonical, so malformed before the version is compared', 'session', splice(base, 1, 1, 0xcc, 0x02), 'E_FRAME_MALFORMED');
  step('version 2^32 (cf 00000001 00000000): out of range', 'session', splice(base, 1, 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0), 'E_FRAME_MALFORMED');
  step('version 1 with the suite written as uint 8 (cc 01): the suite is read before the version is compared', 'session', splice(base, 1, 2, 0x01, 0xcc, 0x01), 'E_FRAME_MALFORMED');
  step('kind 5', 'session', splice(base, 3, 1, 0x05), 'E_FRAME_MALFORMED');
  step('route written as bin 16 (c5 00 10)', 'session', splice(base, R, 2, 0xc5, 0x00, 0x10), 'E_FRAME_MALFORMED');
  step('route written as str (b0)', 'session', splice(base, R, 2, 0xb0), 'E_FRAME_MALFORMED');
  step('instance of 7 bytes', 'session', splice(base, 40, 10, 0xc4, 0x07, ...alice.instance.subarray(1)), 'E_FRAME_MALFORMED');
  step('a recipient in a broadcast', 'session', splice(base, RECIPIENT, 1, 0xc4, 0x10, ...bob.id), 'E_FRAME_MALFORMED');
  step('no recipient (nil) in a direct frame', 'inbox', splice(directBase, RECIPIENT, 18, 0xc0), 'E_FRAME_MALFORMED');
  step('counter 3 written as uint 16 (cd 00 03)', 'session', splice(base, 52, 1, 0xcd, 0x00, 0x03), 'E_FRAME_MALFORMED');
  step('epoch 2^32', 'session', splice(base, 51, 1, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0), 'E_FRAME_MALFORMED');
  step('counter 2^53', 'session', splice(base, 52, 1, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0), 'E_FRAME_MALFORMED');
  step('body written as bin 32 (c6): not canonical', 'session', splice(base, 62, 3, 0xc6, 0, 0, base[63]!, base[64]!), 'E_FRAME_MALFORMED');
  step('truncated by one byte', 'session', base.subarray(0, base.length - 1), 'E_FRAME_MALFORMED');
  step('one trailing byte', 'session', Uint8Array.from([...base, 0]), 'E_FRAME_MALFORMED');
  step("another session's route tag", 'session', app(alice, 3, 'elsewhere', { route: otherSession.routeTag }, otherKey), 'E_AUTH_FAILED');
  step("the receiver's own member id from another instance (bob's id, instance b4..)", 'session', app(bob, 0, 'i am bob too'), 'E_UNKNOWN_SENDER');

  // alice joins; broadcasts from a known sender (§6, §8.1, §8.2).
  step('hello from alice (want_reply true)', 'session', helloFrame(alice, 0, helloPayload(alice, true)), 'accept', {
    event: 'peer-joined',
    publishes: helloReplyTo(alice),
  });
  const chat = app(alice, 1, 'hi');
  step('app broadcast from alice', 'session', chat, 'accept', { event: 'message' });
  step('the same frame again', 'session', chat, 'E_REPLAY');
  const two = app(alice, 2, 'two');
  step('tampered ciphertext (last byte flipped)', 'session', flip(two, two.length - 1), 'E_AUTH_FAILED');
  step('tampered header (last timestamp byte flipped, still fresh)', 'session', flip(two, 61), 'E_AUTH_FAILED');
  step("mallory's signature on a frame with alice's id (sealed with the broadcast key)", 'session', app(alice, 4, 'i am alice', {}, epoch0.broadcastKey, mallory.signing.privateKey), 'E_AUTH_FAILED');
  step("another session's broadcast key under this route tag", 'session', app(alice, 5, 'outsider', {}, otherKey), 'E_AUTH_FAILED');
  step('timestamp now - 120,001 ms (older than max age)', 'session', app(alice, 6, 'old', { timestamp: now - FIXED.maxAgeMs - 1 }), 'E_STALE');
  step('timestamp now - 120,000 ms (exactly max age: fresh)', 'session', app(alice, 7, 'oldest fresh', { timestamp: now - FIXED.maxAgeMs }), 'accept', { event: 'message' });
  step('timestamp now + 30,001 ms (beyond the future skew)', 'session', app(alice, 8, 'future', { timestamp: now + FIXED.maxFutureSkewMs + 1 }), 'E_STALE');
  step('timestamp now + 30,000 ms (exactly the future skew: fresh)', 'session', app(alice, 9, 'latest fresh', { timestamp: now + FIXED.maxFutureSkewMs }), 'accept', { event: 'message' });
  step('sealed under epoch 1, which the receiver does not hold', 'session', app(alice, 10, 'epoch 1', { epoch: 1 }, epoch1.broadcastKey), 'E_EPOCH');
  step('counter 2000 (highest accepted H = 2000)', 'session', app(alice, 2000, 'jump'), 'accept', { event: 'message' });
  step('counter 976 = H - 1024: too old', 'session', app(alice, 976, 'too old'), 'E_REPLAY');
  step('counter 977 = H - 1023: inside the window, never seen', 'session', app(alice, 977, 'just inside'), 'accept', { event: 'message' });

  // Body and padding (§5.3, §6.1).
  step('broadcast body of 39 bytes (less than nonce and tag)', 'session', sealRaw(bHeader(alice, 2001), { body: seq(39) }), 'E_FRAME_MALFORMED');
  step('padding without the 0x80 marker (zeros to 256 bytes)', 'session', sealRaw(bHeader(alice, 2002), { content: content(0x92, 0x03, ...str('x')), padded: padTo(256, false) }), 'E_FRAME_MALFORMED');
  step('padded to 512 bytes where bucket(unpadded length) is 256', 'session', sealRaw(bHeader(alice, 2003), { content: content(0x92, 0x03, ...str('x')), padded: padTo(512) }), 'E_FRAME_MALFORMED');
  step(
    'unpadded plaintext of 64 bytes (a signature needs 64 and the content at least 1)',
    'session',
    sealRaw(bHeader(alice, 2004), { body: concatBytes(FIXED.broadcastNonce, xchachaSeal(epoch0.broadcastKey, FIXED.broadcastNonce, pad(seq(64, 1)), encodeHeader(bHeader(alice, 2004)))) }),
    'E_FRAME_MALFORMED',
  );

  // Content (§5.1): non-canonical content is refused whatever its signature says.
  step('content with the type 3 written as uint 8 (92 cc 03 ...)', 'session', sealRaw(bHeader(alice, 2005), { content: content(0x92, 0xcc, 0x03, ...str('x')) }), 'E_FRAME_MALFORMED');
  step('a byte after the content array', 'session', sealRaw(bHeader(alice, 2006), { content: content(0x92, 0x03, ...str('x'), 0xc0) }), 'E_FRAME_MALFORMED');
  step('content [3] (an array of one element)', 'session', sealRaw(bHeader(alice, 2007), { content: content(0x91, 0x03) }), 'E_FRAME_MALFORMED');
  const unknownType = sealB({ from: alice, header: bHeader(alice, 2008), type: 5, payload: null });
  step('broadcast type 5 (unknown), correctly signed', 'session', unknownType, 'E_FRAME_MALFORMED');
  step('the same frame again: its counter was marked when it authenticated', 'session', unknownType, 'E_REPLAY');

  // Hellos (§6.2).
  step("alice's instance with another x25519 key in its hello", 'session', helloFrame(alice, 2009, [alice.signing.publicKey, carol.dh.publicKey, false, null, null]), 'E_FRAME_MALFORMED');
  step("a hello from an earlier instance of alice (instance a8.., stamped 1 ms before her live instance's hello)", 'session', helloFrame({ ...alice, instance: FIXED.alice.earlierInstance }, 0, helloPayload(alice, false), { instance: FIXED.alice.earlierInstance, timestamp: now - 1 }), 'E_STALE');
  step("carol's hello in the version 2 form [ed25519, x25519, want_reply, meta]", 'session', helloFrame(carol, 0, [carol.signing.publicKey, carol.dh.publicKey, true, null]), 'E_FRAME_MALFORMED');
  step("carol's hello with want_reply nil", 'session', helloFrame(carol, 1, [carol.signing.publicKey, carol.dh.publicKey, null, null, null]), 'E_FRAME_MALFORMED');
  step("carol's hello with a small-order x25519 key (order 8)", 'session', helloFrame(carol, 2, [carol.signing.publicKey, smallOrder, true, null, null]), 'E_FRAME_MALFORMED');
  step("carol's hello with a work nonce of 7 bytes", 'session', helloFrame(carol, 2, [carol.signing.publicKey, carol.dh.publicKey, true, null, seq(7)]), 'E_FRAME_MALFORMED');
  step("carol's hello with meta of 1,025 bytes encoded (a str of 1,022 bytes)", 'session', helloFrame(carol, 3, helloPayload(carol, true, metaOf(1022))), 'E_FRAME_MALFORMED');
  step("a hello with dave's member id and mallory's keys (the id is not the keyed hash of the key)", 'session', helloFrame(dave, 4, helloPayload(mallory, true), {}, mallory.signing.privateKey), 'E_AUTH_FAILED');
  step("carol's hello signed with mallory's key", 'session', helloFrame(carol, 5, helloPayload(carol, true), {}, mallory.signing.privateKey), 'E_AUTH_FAILED');
  step("carol's hello with meta of exactly 1,024 bytes encoded (a str of 1,021 bytes), want_reply false", 'session', carolHello, 'accept', { event: 'peer-joined', publishes: [] });

  // Init requests (§7.6): bob is the lower id of the pair bob-carol.
  step("init request from carol naming bob's id and another instance (b4..)", 'inbox', sealB({ from: carol, header: bHeader(carol, 7, { timestamp: now + 1 }), type: BroadcastType.initRequest, payload: [bob.id, bob.instance] }), 'ignore');
  step('init request from carol with the payload [member_id] (one element)', 'inbox', sealB({ from: carol, header: bHeader(carol, 8, { timestamp: now + 1 }), type: BroadcastType.initRequest, payload: [bob.id] }), 'E_FRAME_MALFORMED');

  // Handshake and direct frames (§7): bob < carol, alice < bob.
  // Handshake frames carry a pair tag (§7.2) keyed by the pair key of sender and receiver, which names the
  // receiver's (random) instance: so the receiver's run makes them, from these inputs ("send": "handshake").
  const tagged = (name: string, from: Member, kind: FrameKind, counter: number, dt: number, message: Uint8Array, expect: string, extra: { epoch?: number; tag?: 'valid' | 'flipped' } = {}) =>
    steps.push({ name, topic: 'inbox', send: 'handshake', from: from.name, kind, counter, timestamp: now + dt, epoch: extra.epoch ?? 0, message: toHex(message), tag: extra.tag ?? 'valid', expect });
  const realLength = 32 + initAd + 16;
  step('handshake init from alice with a body of 15 bytes (shorter than a pair tag)', 'inbox', garbageInit(0, 15), 'E_HANDSHAKE');
  step(`handshake init from alice whose pair tag does not verify (${16 + realLength} bytes of garbage: what anyone without the pair key can send)`, 'inbox', garbageInit(1, 16 + realLength), 'E_AUTH_FAILED');
  tagged('handshake init from alice with a valid pair tag whose last bit is flipped', alice, FrameKind.handshakeInit, 2, 2, seq(realLength, 0x10), 'E_AUTH_FAILED', { tag: 'flipped' });
  tagged('handshake init from carol, the higher member id of the pair (valid pair tag)', carol, FrameKind.handshakeInit, 0, 2, seq(realLength, 0x10), 'E_HANDSHAKE');
  tagged('handshake init from alice under epoch 1, which the receiver does not hold', alice, FrameKind.handshakeInit, 3, 2, seq(realLength, 0x10), 'E_EPOCH', { epoch: 1 });
  tagged('handshake init from alice with a Noise message of 47 bytes (an ephemeral and less than a tag)', alice, FrameKind.handshakeInit, 4, 2, seq(47, 0x10), 'E_HANDSHAKE');
  tagged(`handshake init from alice with a valid pair tag and ${realLength} bytes of garbage (the length of a real Noise message)`, alice, FrameKind.handshakeInit, 5, 2, seq(realLength, 0x11), 'E_AUTH_FAILED');
  tagged('handshake resp from alice while no handshake is in progress', alice, FrameKind.handshakeResp, 0, 3, seq(realLength, 0x20), 'E_HANDSHAKE');
  step('direct frame from carol, with whom there is no channel', 'inbox', directBase, 'E_HANDSHAKE');
  step('handshake init from alice addressed to carol', 'inbox', encodeFrame(encodeHeader(dHeader(FrameKind.handshakeInit, alice, carol, 0, 2)), seq(16 + realLength, 0x10)), 'ignore');
  step('handshake init from dave, who has not said hello: refused, never held (§8.3)', 'inbox', encodeFrame(encodeHeader(dHeader(FrameKind.handshakeInit, dave, bob, 0, 2)), seq(16 + realLength, 0x10)), 'E_UNKNOWN_SENDER');
  step('direct frame from dave, who has not said hello: refused, never held (§8.3)', 'inbox', encodeFrame(encodeHeader(dHeader(FrameKind.direct, dave, bob, 0, 2)), seq(40, 0x30)), 'E_UNKNOWN_SENDER');
  step('app broadcast from dave, who has not said hello: held (§8.3)', 'session', app(dave, 0, 'early'), 'ignore');

  // Departures (§6.2, §8.1).
  const carolBye = sealB({ from: carol, header: bHeader(carol, 9, { timestamp: now + 2 }), type: BroadcastType.bye, payload: null });
  step('bye from carol', 'session', carolBye, 'accept', { event: 'peer-left' });
  step("carol's bye again (the transport delivered it twice): her last broadcast, a duplicate (§8.1 step 6)", 'session', carolBye, 'E_REPLAY');
  step('app broadcast from carol after her bye', 'session', app(carol, 10, 'still here', { timestamp: now + 3 }), 'E_STALE');
  step("carol's hello again after her bye (a replay)", 'session', carolHello, 'E_STALE');

  // The clock moves on (§8.3, §8.1).
  steps.push({
    name: `the receiver's clock advances by ${FIXED.peerTimeoutMs + 1} ms`,
    topic: 'session',
    advance_ms: FIXED.peerTimeoutMs + 1,
    expect: 'timers',
    expect_errors: ['E_UNKNOWN_SENDER'],
    events: ['peer-left'],
  });
  step('hello from alice (counter 2010): her timed-out instance resumes', 'session', helloFrame(alice, 2010, helloPayload(alice, false), { timestamp: later }), 'accept', { event: 'peer-joined' });
  step('app broadcast from alice: the receiver carries on', 'session', app(alice, 2011, 'back', { timestamp: later }), 'accept', { event: 'message' });

  // Replies and the limits per member (§6.2, §6.4), the clock at later.
  // The receiver's joining hello is now more than R / 2 old: its reply is a hello signed anew (or a copy of its
  // latest heartbeat), want_reply false either way.
  const freshReplyTo = (m: Member): Published[] => [{ topic: v.inboxOf(m), kind: FrameKind.broadcast, type: BroadcastType.hello, want_reply: false }];
  step('hello from alice asking for a reply (counter 2012)', 'session', helloFrame(alice, 2012, helloPayload(alice, true), { timestamp: later }), 'accept', { publishes: freshReplyTo(alice) });
  step('alice asks again (counter 2013) less than a second after the reply: accepted, not answered', 'session', helloFrame(alice, 2013, helloPayload(alice, true), { timestamp: later }), 'accept', { publishes: [] });
  const maxHelloAge = FIXED.helloMaxAgeMs;
  step(`hello from erin stamped R + 1 ms ago (R = ${maxHelloAge} ms): stale before any signature check`, 'session', helloFrame(erin, 0, helloPayload(erin, false), { timestamp: later - maxHelloAge - 1 }), 'E_STALE');
  step('hello from erin stamped exactly R ago: fresh', 'session', helloFrame(erin, 1, helloPayload(erin, false), { timestamp: later - maxHelloAge }), 'accept', { event: 'peer-joined', publishes: [] });
  const [carol2, carol3] = FIXED.carolLater as [Uint8Array, Uint8Array];
  const carolAt = (instance: Uint8Array, counter: number) => helloFrame({ ...carol, instance }, counter, helloPayload(carol, false), { instance, timestamp: later });
  step("hello from a new instance of carol (c7..): her last admission was more than a second ago, so it is admitted at once", 'session', carolAt(carol2, 0), 'accept', { event: 'peer-joined', publishes: [] });
  step('hello from another new instance of carol (c8..) at once: over the admission limit, deferred (§6.4)', 'session', carolAt(carol3, 0), 'ignore');
  steps.push({
    name: "the receiver's clock advances by 1,000 ms: the deferred hello is handled again and replaces carol's instance c7..",
    topic: 'session',
    advance_ms: 1_000,
    expect: 'timers',
    expect_errors: [],
    events: ['peer-left', 'peer-joined'],
  });

  // Direct frames need a channel, and a channel needs the receiver's instance (it is in the prologue), so these
  // steps give the inputs and the test seals them once the receiver is running (§7).
  const direct = (name: string, counter: number, input: { content?: Uint8Array; padded?: Uint8Array; body?: Uint8Array; tamper?: boolean; channel?: number }, expect: string, more: Record<string, unknown> = {}) => ({
    name,
    send: 'direct',
    channel: input.channel ?? 0,
    counter,
    timestamp: later,
    ...(input.content ? { content: toHex(input.content) } : {}),
    ...(input.padded ? { padded: toHex(input.padded) } : {}),
    ...(input.body ? { body: toHex(input.body) } : {}),
    ...(input.tamper ? { tamper: 'flip the last bit of the last byte' } : {}),
    expect,
    ...more,
  });
  const c = (type: number, payload: unknown) => encodeContent(type, payload).slice();
  const padded = (bytes: Uint8Array, size: number, marker = true) => padTo(size, marker)(bytes);
  const candidateLine = 'candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host';
  const resp = { topic: v.inboxOf(alice), kind: FrameKind.handshakeResp };
  const channelSteps = [
    { name: "handshake init from alice (the lower member id) to the receiver's instance", send: 'init', ephemeral_private: toHex(FIXED.alice.ephemeral), counter: 0, timestamp: later, expect: 'accept', publishes: [resp] },
    { name: 'the same init again', send: 'repeat', expect: 'E_REPLAY' },
    direct('confirm (type 0): the first transport message confirms the channel', 0, { content: c(DirectType.confirm, null) }, 'accept'),
    direct('app message "hi"', 1, { content: c(DirectType.app, 'hi') }, 'accept', { event: 'message' }),
    { name: 'the same frame again', send: 'repeat', expect: 'E_REPLAY' },
    direct('tampered ciphertext', 2, { content: c(DirectType.app, 'x'), tamper: true }, 'E_AUTH_FAILED'),
    direct('a body of 15 bytes (shorter than the tag)', 2, { body: seq(15, 0x50) }, 'E_AUTH_FAILED'),
    direct('counter 2^53 - 1 (outside the Noise nonce range)', 2 ** 53 - 1, { body: seq(32, 0x50) }, 'E_AUTH_FAILED'),
    direct('padding without the 0x80 marker', 2, { padded: padded(c(DirectType.app, 'x'), 256, false) }, 'E_FRAME_MALFORMED'),
    direct('padded to 512 bytes where bucket(unpadded length) is 256', 3, { padded: padded(c(DirectType.app, 'x'), 512) }, 'E_FRAME_MALFORMED'),
    direct('content with the type 1 written as uint 8 (92 cc 01 ...)', 4, { content: content(0x92, 0xcc, 0x01, ...str('x')) }, 'E_FRAME_MALFORMED'),
    { name: 'the same frame again: its counter was marked when it authenticated', send: 'repeat', expect: 'E_REPLAY' },
    direct('direct type 4 (unknown)', 5, { content: c(4, 'x') }, 'E_FRAME_MALFORMED'),
    direct('description {"type": "offers"}', 6, { content: c(DirectType.description, { type: 'offers' }) }, 'E_FRAME_MALFORMED'),
    direct('description {"type": "offer", "sdp": nil}', 7, { content: c(DirectType.description, { type: 'offer', sdp: null }) }, 'E_FRAME_MALFORMED'),
    direct('description ["offer", "v=0"] (an array, not a map)', 8, { content: c(DirectType.description, ['offer', 'v=0']) }, 'E_FRAME_MALFORMED'),
    direct('description {"type": "offer", "sdp": "v=0\r\n", "x": 1}: another key is no error', 9, { content: c(DirectType.description, { type: 'offer', sdp: 'v=0\r\n', x: 1 }) }, 'accept', { event: 'signal' }),
    direct('candidate given as a str', 10, { content: c(DirectType.candidate, candidateLine) }, 'E_FRAME_MALFORMED'),
    direct('candidate {"sdpMLineIndex": -1}', 11, { content: c(DirectType.candidate, { sdpMLineIndex: -1 }) }, 'E_FRAME_MALFORMED'),
    direct('candidate {"candidate": nil}', 12, { content: c(DirectType.candidate, { candidate: null }) }, 'E_FRAME_MALFORMED'),
    direct(
      'candidate {"candidate": str, "sdpMid": nil, "sdpMLineIndex": nil, "usernameFragment": nil, "foo": true}: another key is no error',
      13,
      { content: c(DirectType.candidate, { candidate: candidateLine, sdpMid: null, sdpMLineIndex: null, usernameFragment: null, foo: true }) },
      'accept',
      { event: 'signal' },
    ),
    direct('candidate nil (end of candidates)', 14, { content: c(DirectType.candidate, null) }, 'accept', { event: 'signal' }),
    direct('confirm with the payload 1: the payload of a confirm is not read', 15, { content: c(DirectType.confirm, 1) }, 'accept'),
    {
      name: "init request from alice naming the receiver's instance: alice is the lower member id, so she is the one who initiates",
      send: 'init-request',
      counter: 2014,
      timestamp: later,
      expect: 'E_HANDSHAKE',
    },
    { name: 'handshake init from alice stamped 1 ms before the init of the current channel', send: 'init', ephemeral_private: toHex(fill(32, 0xa5)), counter: 1, timestamp: later - 1, expect: 'E_HANDSHAKE' },
    { name: 'a newer handshake init from alice: it replaces the channel', send: 'init', ephemeral_private: toHex(FIXED.alice.retryEphemeral), counter: 2, timestamp: later + 1, expect: 'accept', publishes: [resp] },
    direct('app message sealed under the replaced channel (frames in flight stay readable for max age)', 16, { content: c(DirectType.app, 'in flight') }, 'accept', { event: 'message' }),
    { name: 'the frame of step "app message \"hi\"" again: the replaced channel\'s window has seen its counter', send: 'repeat', of: 'app message "hi"', expect: 'E_REPLAY' },
    direct('confirm under the new channel (channel 1, counter 0): it confirms the new channel', 0, { content: c(DirectType.confirm, null), channel: 1 }, 'accept'),
    direct('app message under the new channel: the receiver carries on', 1, { content: c(DirectType.app, 'new channel'), channel: 1 }, 'accept', { event: 'message' }),
  ];

  // The receiver as the initiator (§7.5, §7.6): carol, the higher member id, answers its init and asks for
  // another one, once with a request made before her resp (delivered late) and once after it.
  const carolInbox = v.inboxOf(carol, FIXED.carolLater[1]!);
  const carolResp = later + 5;
  const initiatorSteps = [
    { name: 'the receiver sends the app message "to carol" to carol (instance c8..): the lower member id, it initiates', send: 'receiver-sends', value: 'to carol', expect: 'accept', publishes: [{ topic: carolInbox, kind: FrameKind.handshakeInit }] },
    { name: "carol answers the receiver's init with a resp stamped T: the receiver sends its confirm, then the queued message", send: 'resp', ephemeral_private: toHex(fill(32, 0xc9)), counter: 0, timestamp: carolResp, expect: 'accept', publishes: [{ topic: carolInbox, kind: FrameKind.direct }, { topic: carolInbox, kind: FrameKind.direct }] },
    { name: 'init request from carol stamped T (made before her resp, delivered late): ignored, the channel stays', send: 'init-request', counter: 1, timestamp: carolResp, expect: 'ignore', publishes: [] },
    { name: 'init request from carol stamped T + 1 ms: a new init', send: 'init-request', counter: 2, timestamp: carolResp + 1, expect: 'accept', publishes: [{ topic: carolInbox, kind: FrameKind.handshakeInit }] },
  ];

  return {
    description:
      'Frames fed in order to one receiver, bob (keys below; his instance is random, as every join draws one), a member of the ' +
      'session at epoch 0 with the parameters below; its clock reads now until a step advances it (advance_ms: the clock moves ' +
      'forward and the receiver runs its timers, among them a deferred hello\'s, §6.4). Its largest hello age R is ' +
      'hello_max_age_ms (§6.2). Senders: alice (member id below bob\'s), carol (above bob\'s), dave (never says hello), mallory ' +
      '(forges), erin (hellos at the bound of R); their keys, ids and instances are listed; every broadcast uses the nonce ' +
      '404142...57. Steps with "send": "handshake" are made at run time, since their pair tag (§7.2) is keyed by the pair key of ' +
      'the sender and the receiver, whose instance is random: header (kind, counter, timestamp, epoch, recipient the receiver), ' +
      'body = pair_tag || message, the tag computed over the given message (tag "flipped": its last bit flipped). topic says ' +
      'where a frame is injected: the session topic, or the receiver\'s own inbox topic (it makes no difference to the outcome, ' +
      '§3.6). expect is one of: "accept" (the frame is accepted; event names what the application then sees: peer-joined, ' +
      'message or peer-left; publishes, what the receiver sends in reply), "ignore" (dropped without an error: held until the ' +
      'sender\'s hello, addressed to another member, or an init request naming another instance), an error code (the frame is ' +
      'dropped with it and changes nothing else, except where the step says so; E_REPLAY is only counted, not reported), or ' +
      '"timers" for a clock step (expect_errors: the error codes its timers raise, in order; events: what the application sees). ' +
      'After every step the receiver carries on: the last steps are accepted. The steps that need a pairwise channel are in ' +
      'channel_steps, after these. A published frame marked copy_of_own_hello is the receiver\'s own joining hello, byte for byte ' +
      '(a hello reply is a copy of the latest hello, §6.2). peers_after_steps: the member ids live at the end of steps. Not ' +
      'covered, since it needs many inits while time passes: E_RATE_LIMITED of the init budget (§7.7).',
    session_id: v.sessionId,
    now,
    max_age_ms: FIXED.maxAgeMs,
    max_future_skew_ms: FIXED.maxFutureSkewMs,
    max_frame_bytes: FIXED.maxFrameBytes,
    peer_timeout_ms: FIXED.peerTimeoutMs,
    replay_window: 1024,
    receiver: { ...memberJson(bob, s.topic, s.inboxKey), instance: 'random', inbox_topic: 'derived from the random instance' },
    hello_max_age_ms: FIXED.helloMaxAgeMs,
    senders: [alice, carol, dave, mallory, erin].map((m) => memberJson(m, s.topic, s.inboxKey)),
    steps,
    peers_after_steps: [alice, erin, carol].map((m) => toHex(m.id)),
    channel_description:
      'After steps, the same receiver, clock unchanged: alice sets up a pairwise channel with it and sends direct frames. The ' +
      'prologue names the receiver\'s instance (§7.1), so these steps give inputs, and the frames are made at run time: "init": ' +
      'alice writes a handshake init (§7.2) to the receiver\'s member id, with her keys, the given ephemeral, counter and ' +
      'timestamp, epoch 0; "direct": alice seals a direct frame (§7.3) with counter as the nonce and the sending key of channel ' +
      'k, the one set up by the (k+1)-th accepted init (she reads the receiver\'s answer to it, published on her inbox, to get it), ' +
      'over pad(content) (§5.3), or over the given padded plaintext, or with the given body in place of the ciphertext; tamper ' +
      'flips the last bit of the body; "init-request": alice broadcasts an init request (type 4, §7.6) naming the receiver\'s ' +
      'member id and instance; "repeat": the frame of the step before (or of the step named by of) again. Every frame goes to ' +
      'the receiver\'s inbox topic. expect and publishes as in steps; event "signal" is a description or candidate delivered.',
    channel_steps: channelSteps,
    initiator_description:
      'After channel_steps, the same receiver, clock unchanged, as the initiator of a pair (§7.5, §7.6): carol (instance c8..), ' +
      'the higher member id, and the receiver. "receiver-sends": the application sends value to carol (Session.send), and the ' +
      'receiver publishes its handshake init; "resp": carol reads the last init the receiver published on her inbox topic and ' +
      'answers it (§7.2) with her keys, the given ephemeral, counter and timestamp, epoch 0; "init-request": carol broadcasts an ' +
      'init request (type 4, §7.6) naming the receiver\'s member id and instance, with the given counter and timestamp. Every ' +
      'frame goes to the receiver\'s inbox topic. expect and publishes as in steps (publishes lists the frames the receiver sends, ' +
      'by topic and kind).',
    initiator_steps: initiatorSteps,
  };
}
