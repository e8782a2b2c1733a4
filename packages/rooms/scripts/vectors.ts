/**
 * Deterministic test vectors for the rooms layer (docs/PROTOCOL.md §R1, §R2, §R4, §R6, §R7, §R8), written to
 * docs/test-vectors/rooms.json. Every key, nonce, timestamp and ISK is fixed, so an implementation in another
 * language can reproduce every byte (Ed25519 signatures are deterministic).
 *
 * `pnpm vectors` writes the file; packages/rooms/test/vectors.test.ts regenerates it and fails when it differs
 * from the committed one, then runs each vector through our own code paths.
 */
import { ed25519KeyPair, ed25519Sign, equalBytes, fromBase64Url, toBase64Url, toHex, u32be, utf8, xchachaOpen, type KeyPair } from '@sealsig/core';
import { encode } from '@msgpack/msgpack';
import { chainEnd, extendChain } from '../src/chain.js';
import { sealDescriptor } from '../src/descriptor.js';
import { encodeInvite, type Invite } from '../src/invite.js';
import { RoomLabels, descriptorKeys, lobbyTopicOf, signatureInput } from '../src/labels.js';
import { confirmationsFromIsk, cpaceChannelId, type CpaceEndpoints } from '../src/password.js';
import { calculateGenerator, generatorString, DSI, scalarMult, scalarMultVfy } from '../src/cpace/group.js';
import { iskIr } from '../src/cpace/transcript.js';
import { signPrivilegeRequest, type PrivilegeFields } from '../src/privileges.js';
import { MAX_APP_DATA_BYTES, MAX_CHAIN, MAX_MEMBERS, MAX_NAME_CHARS, Tag, decodeState, toWire, type ChainLink, type Message, type RoomState } from '../src/wire.js';

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
function fromHexText(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
}
const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

/** The fixed inputs of rooms.json. */
export const FIXED = {
  /** The same session id bytes as core's key-schedule.json, so the lobby topic equals core's topic there. */
  sessionIdBytes: seq(16),
  moderatorSeed: fill(32, 0xd1),
  /** The successors of the chain vector: link 1 hands moderation to key 1, link 2 to key 2. */
  successorSeeds: [fill(32, 0xd2), fill(32, 0xd3)],
  /** The privilege requester and the stream owner. */
  requesterSeed: fill(32, 0xf1),
  ownerSeed: fill(32, 0xf2),
  roomSessionIdBytes: seq(16, 0x30),
  descriptorNonce: seq(24, 0x50),
  descriptorTitle: 'Weekly sync',
  /** 2026-11-24T00:00:00Z, as in core's vectors. */
  now: 1_795_478_400_000,
  descriptorTtlMs: 60_000,
  privilegeNonce: seq(16, 0x70),
  isk: seq(64, 0x80),
  joinNonce: seq(16, 0x90),
  /** A complete password check (§R4): the password and both parties' scalars (the draft's own ya and yb). */
  password: 'correct horse battery staple',
  cpaceYa: fromHexText('DA3D23700A9E5699258AEF94DC060DFDA5EBB61F02A5EA77FAD53F4FF0976D08'),
  cpaceYb: fromHexText('D2316B454718C35362D83D69DF6320F38578ED5984651435E2949762D900B80D'),
  cpaceShareJoiner: fill(32, 0x11),
  cpaceShareModerator: fill(32, 0x22),
  roomKey: fill(32, 0xe7),
};

const hexKeyPair = (seed: Uint8Array, kp: KeyPair) => ({ ed25519_seed: toHex(seed), ed25519_public: toHex(kp.publicKey) });

/** Byte strings as hex, recursively; everything else as is. */
function json(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(json);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, json(x)]));
  return v;
}

const TAG_NAMES = Object.fromEntries(Object.entries(Tag).map(([name, tag]) => [tag, name])) as Record<number, string>;

function fail(what: string): never {
  throw new Error(`rooms vectors: ${what}`);
}

/**
 * §R4 One complete password check with fixed scalars: every intermediate value of CPACE-RISTR255-SHA512
 * (draft-irtf-cfrg-cpace-21) as the joiner (initiator) and the moderator (responder) compute it, ADa = ADb = "".
 * Needs cpaceReady() first.
 */
function cpaceRun(endpoints: CpaceEndpoints) {
  const prs = utf8(FIXED.password.normalize('NFC'));
  const ci = cpaceChannelId(endpoints);
  const sid = FIXED.joinNonce;
  const g = calculateGenerator(prs, ci, sid);
  const Ya = scalarMult(FIXED.cpaceYa.slice(), g);
  const Yb = scalarMult(FIXED.cpaceYb.slice(), g);
  const K = scalarMultVfy(FIXED.cpaceYa.slice(), Yb);
  if (!equalBytes(K, scalarMultVfy(FIXED.cpaceYb.slice(), Ya))) fail('CPace: the two sides disagree on K');
  const empty = new Uint8Array(0);
  const isk = iskIr(sid, K, Ya, empty, Yb, empty);
  const c = confirmationsFromIsk(isk.slice());
  return {
    description:
      'A complete password check (§R4), CPACE-RISTR255-SHA512 of draft-irtf-cfrg-cpace-21, initiator = joiner, responder = moderator, ADa = ADb = "". ' +
      'PRS = UTF-8 of the NFC-normalised password; CI = channel_id above; sid = the join request nonce; ' +
      'generator_string = lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid) with DSI = "CPaceRistretto255" and len_zpad = max(0, 128 - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI))) ' +
      '(prepend_len(x) = LEB128(len(x)) || x; lv_cat = concatenation of prepend_len of each argument); g = ristretto255 element derived from SHA-512(generator_string) (RFC 9496 §4.3.4); ' +
      'Ya = ya*g, Yb = yb*g (encoded, RFC 9496 §4.3.2); K = ya*Yb = yb*Ya; ISK = SHA-512(lv_cat("CPaceRistretto255_ISK", sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb)); ' +
      'confirm_moderator and confirm_joiner from ISK as above.',
    password: FIXED.password,
    prs: toHex(prs),
    ci: toHex(ci),
    sid: toHex(sid),
    dsi: toHex(DSI),
    generator_string: toHex(generatorString(DSI, prs, ci, sid)),
    g: toHex(g),
    ya: toHex(FIXED.cpaceYa),
    yb: toHex(FIXED.cpaceYb),
    Ya: toHex(Ya),
    Yb: toHex(Yb),
    K: toHex(K),
    isk: toHex(isk),
    confirm_moderator: toHex(c.moderator),
    confirm_joiner: toHex(c.joiner),
  };
}

export function roomVectors(): Record<string, unknown> {
  const sessionId = toBase64Url(FIXED.sessionIdBytes);
  const moderator = ed25519KeyPair(FIXED.moderatorSeed);
  const lobbyTopic = lobbyTopicOf({ sessionId });

  // --- keys (§R2) -------------------------------------------------------------------------------------
  const dk = descriptorKeys(sessionId);
  const keys = {
    description:
      'Keys derived from the invite session id (§R2), KDF as in core §3 (BLAKE2b keyed with the session id bytes): ' +
      'descriptor_id = KDF(sid, "sealsig/v1/rooms/descriptor-id", "", 16), descriptor_key = KDF(sid, ".../descriptor-key", "", 32), ' +
      'descriptor_write = KDF(sid, ".../descriptor-write", "", 32); lobby_topic = the core route tag of sid as base64url (core §3.3).',
    session_id: sessionId,
    session_id_bytes: toHex(FIXED.sessionIdBytes),
    descriptor_id: toHex(dk.id),
    descriptor_id_base64url: toBase64Url(dk.id),
    descriptor_key: toHex(dk.key),
    descriptor_write: toHex(dk.writeToken),
    lobby_topic: lobbyTopic,
  };

  // --- invites (§R2) ----------------------------------------------------------------------------------
  const inviteCase = (passwordRequired: boolean) => {
    const invite: Invite = { sessionId, moderatorKey: moderator.publicKey, passwordRequired };
    const text = encodeInvite(invite);
    const bytes = encode([1, FIXED.sessionIdBytes, moderator.publicKey, passwordRequired ? 1 : 0]);
    if (!equalBytes(fromBase64Url(text)!, bytes)) fail('invite bytes');
    return { password_required: passwordRequired, flags: passwordRequired ? 1 : 0, text, msgpack: toHex(bytes) };
  };
  const invite = {
    description:
      'Invites (§R2): text = base64url (no padding) of msgpack([1, sid (bin), moderator_ed25519_public (bin 32), flags]), flags bit 0 = password required.',
    session_id: sessionId,
    moderator: hexKeyPair(FIXED.moderatorSeed, moderator),
    cases: [inviteCase(true), inviteCase(false)],
  };

  // --- moderator chain (§R6) --------------------------------------------------------------------------
  const successors = FIXED.successorSeeds.map((s) => ed25519KeyPair(s));
  const signers = [moderator, ...successors];
  let links: ChainLink[] = [];
  const chainLinks = successors.map((next, i) => {
    const index = i + 1;
    const input = signatureInput(RoomLabels.transferSignature, utf8(lobbyTopic), u32be(index), next.publicKey);
    links = extendChain(links, lobbyTopic, signers[i]!.privateKey, next.publicKey);
    const link = links[i]!;
    if (!equalBytes(link.signature, ed25519Sign(signers[i]!.privateKey, input))) fail('chain signature');
    return {
      index,
      signer_public: toHex(signers[i]!.publicKey),
      next: hexKeyPair(FIXED.successorSeeds[i]!, next),
      signed_input: toHex(input),
      signature: toHex(link.signature),
    };
  });
  const end = chainEnd(links, lobbyTopic, moderator.publicKey) ?? fail('chain end');
  const chain = {
    description:
      'Moderator chain (§R6): signature_i = Ed25519-Sign(key_{i-1}, "sealsig/v1/rooms/moderator-transfer" || 0x00 || UTF8(lobby_topic) || u32be(i) || key_i), ' +
      'key_0 = the pinned (invite) moderator key. end = key of the last link.',
    lobby_topic: lobbyTopic,
    pinned: toHex(moderator.publicKey),
    links: chainLinks,
    end: toHex(end),
  };

  // --- sealed descriptor (§R7) ------------------------------------------------------------------------
  const descInvite: Invite = { sessionId, moderatorKey: moderator.publicKey, passwordRequired: true };
  const expiresAt = FIXED.now + FIXED.descriptorTtlMs;
  const content = encode([1, FIXED.descriptorTitle, moderator.publicKey, 1, expiresAt, []]);
  const descSignature = ed25519Sign(moderator.privateKey, signatureInput(RoomLabels.descriptorSignature, dk.id, content));
  const sealedD = sealDescriptor({
    invite: descInvite,
    title: FIXED.descriptorTitle,
    moderatorKey: moderator.publicKey,
    chain: [],
    expiresAt,
    signingSecret: moderator.privateKey,
    nonce: FIXED.descriptorNonce,
  });
  const opened = xchachaOpen(dk.key, sealedD.sealed.subarray(0, 24), sealedD.sealed.subarray(24), dk.id);
  if (!equalBytes(opened, Uint8Array.from([...content, ...descSignature]))) fail('descriptor content');
  if (!equalBytes(sealedD.writeToken, dk.writeToken)) fail('descriptor write token');
  const descriptor = {
    description:
      'Sealed descriptor (§R7) for the password invite: content = msgpack([1, title, moderator_key, flags, expires_at, chain]); ' +
      'signature = Ed25519-Sign(moderator, "sealsig/v1/rooms/descriptor-signature" || 0x00 || descriptor_id || content); ' +
      'sealed = nonce || XChaCha20-Poly1305(descriptor_key, nonce, content || signature, ad = descriptor_id). live iff expires_at > now.',
    invite: inviteCase(true).text,
    title: FIXED.descriptorTitle,
    moderator_key: toHex(moderator.publicKey),
    password_required: true,
    expires_at: expiresAt,
    chain: [],
    nonce: toHex(FIXED.descriptorNonce),
    content: toHex(content),
    signed_input: toHex(signatureInput(RoomLabels.descriptorSignature, dk.id, content)),
    signature: toHex(descSignature),
    sealed: toHex(sealedD.sealed),
    id: sealedD.id,
  };

  // --- privilege request (§R8) ------------------------------------------------------------------------
  const requester = ed25519KeyPair(FIXED.requesterSeed);
  const owner = ed25519KeyPair(FIXED.ownerSeed);
  const roomTopic = lobbyTopicOf({ sessionId: toBase64Url(FIXED.roomSessionIdBytes) });
  const fields: PrivilegeFields = { roomTopic, ownerKey: owner.publicKey, action: 'mute', streamId: 'mic', nonce: FIXED.privilegeNonce, timestamp: FIXED.now };
  const privInput = signatureInput(RoomLabels.privilegeSignature, encode([roomTopic, owner.publicKey, 'mute', 'mic', FIXED.privilegeNonce, FIXED.now]));
  const privSignature = signPrivilegeRequest(requester.privateKey, fields);
  if (!equalBytes(privSignature, ed25519Sign(requester.privateKey, privInput))) fail('privilege signature');
  const privMessage: Message = { tag: Tag.privilegeRequest, nonce: fields.nonce, action: fields.action, streamId: fields.streamId, timestamp: fields.timestamp, signature: privSignature };
  const privilege = {
    description:
      'Privilege request (§R8): signature = Ed25519-Sign(requester, "sealsig/v1/rooms/privilege-request" || 0x00 || ' +
      'msgpack([room_topic, owner_key, action, stream_id, nonce, timestamp])); message = msgpack([13, nonce, action, stream_id, timestamp, signature]). ' +
      'room_topic is the route tag (base64url) of room_session_id.',
    requester: hexKeyPair(FIXED.requesterSeed, requester),
    owner: hexKeyPair(FIXED.ownerSeed, owner),
    room_session_id: toBase64Url(FIXED.roomSessionIdBytes),
    room_topic: roomTopic,
    owner_key: toHex(owner.publicKey),
    action: fields.action,
    stream_id: fields.streamId,
    nonce: toHex(fields.nonce),
    timestamp: fields.timestamp,
    signed_input: toHex(privInput),
    signature: toHex(privSignature),
    message: toHex(encode(toWire(privMessage))),
  };

  // --- password rooms (§R4) ---------------------------------------------------------------------------
  const endpoints: CpaceEndpoints = {
    lobbyTopic,
    joinerId: toBase64Url(fill(16, 0xa5)),
    joinerInstance: toBase64Url(fill(8, 0xa6)),
    moderatorId: toBase64Url(fill(16, 0xb5)),
    moderatorInstance: toBase64Url(fill(8, 0xb6)),
  };
  const conf = confirmationsFromIsk(FIXED.isk.slice());
  const password = {
    description:
      'Password rooms (§R4): channel_id = lv_cat("sealsig/v1/rooms/cpace", lobby_topic, joiner_id, joiner_instance, moderator_id, moderator_instance) ' +
      '(UTF-8 strings; lv_cat as in draft-irtf-cfrg-cpace: LEB128 length prefix then bytes); ' +
      'confirm_moderator = KDF(ISK, "sealsig/v1/rooms/confirm-moderator", "", 32), confirm_joiner = KDF(ISK, "sealsig/v1/rooms/confirm-joiner", "", 32).',
    channel: {
      lobby_topic: endpoints.lobbyTopic,
      joiner_id: endpoints.joinerId,
      joiner_instance: endpoints.joinerInstance,
      moderator_id: endpoints.moderatorId,
      moderator_instance: endpoints.moderatorInstance,
      channel_id: toHex(cpaceChannelId(endpoints)),
    },
    isk: toHex(FIXED.isk),
    confirm_moderator: toHex(conf.moderator),
    confirm_joiner: toHex(conf.joiner),
    run: cpaceRun(endpoints),
  };

  // --- messages (§R1) ---------------------------------------------------------------------------------
  const state: RoomState = {
    version: 3,
    epoch: 1,
    roomKey: FIXED.roomKey,
    moderator: moderator.publicKey,
    members: [
      { key: moderator.publicKey, name: 'mod' },
      { key: requester.publicKey, name: 'alice' },
    ],
    iceServers: [
      { urls: 'stun:stun.example.org:3478' },
      { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1795478460:alice', credential: 'c2VjcmV0' },
    ],
    chain: [],
    banned: [{ key: fill(32, 0xbb), reason: 'spam' }],
  };
  const nonce = FIXED.joinNonce;
  const examples: Message[] = [
    { tag: Tag.app, value: { text: 'hello, room', n: 42 } },
    { tag: Tag.joinRequest, nonce, name: 'alice', appData: { avatar: 'cat' }, share: FIXED.cpaceShareJoiner },
    { tag: Tag.joinChallenge, nonce, share: FIXED.cpaceShareModerator, confirm: conf.moderator },
    { tag: Tag.joinConfirm, nonce, confirm: conf.joiner },
    { tag: Tag.joinAccepted, nonce, roomSessionId: toBase64Url(FIXED.roomSessionIdBytes), state },
    { tag: Tag.joinRejected, nonce, code: 'wrong-password', reason: 'try again later' },
    { tag: Tag.moderator, chain: links },
    { tag: Tag.state, state: { ...state, version: 4, chain: links } },
    { tag: Tag.stateAck, version: 4 },
    { tag: Tag.kicked, reason: 'spam' },
    privMessage,
    { tag: Tag.privilegeResponse, nonce: FIXED.privilegeNonce, granted: true },
  ];
  const messages = examples.map((m) => ({ name: TAG_NAMES[m.tag], tag: m.tag, bytes: toHex(encode(toWire(m))), decoded: json(m) }));

  // --- malformed messages: each must give E_FRAME_MALFORMED --------------------------------------------
  const w = (v: unknown) => toHex(encode(v));
  const stateWire = (over: Partial<Record<number, unknown>>) => {
    const s: unknown[] = [3, 1, FIXED.roomKey, moderator.publicKey, [[moderator.publicKey, 'mod']], [], [], []];
    for (const [i, v] of Object.entries(over)) s[Number(i)] = v;
    return s;
  };
  // Each malformed state differs from a valid one in exactly the field it names.
  decodeState(stateWire({}));
  const negative = [
    { name: 'not an array', bytes: w('hello') },
    { name: 'empty array', bytes: w([]) },
    { name: 'unknown tag 99', bytes: w([99, 'x']) },
    { name: 'tag as a string', bytes: w(['1', nonce, 'alice', null, null]) },
    { name: 'joinConfirm with a trailing element', bytes: w([Tag.joinConfirm, nonce, conf.joiner, 0]) },
    { name: 'joinConfirm missing its confirmation', bytes: w([Tag.joinConfirm, nonce]) },
    { name: 'nonce of 15 bytes', bytes: w([Tag.joinConfirm, nonce.subarray(0, 15), conf.joiner]) },
    { name: 'nonce as a string', bytes: w([Tag.joinConfirm, toHex(nonce), conf.joiner]) },
    { name: 'CPace share of 31 bytes', bytes: w([Tag.joinRequest, nonce, 'alice', null, FIXED.cpaceShareJoiner.subarray(0, 31)]) },
    { name: 'confirmation of 33 bytes', bytes: w([Tag.joinChallenge, nonce, FIXED.cpaceShareModerator, fill(33, 1)]) },
    { name: `name of ${MAX_NAME_CHARS + 1} characters`, bytes: w([Tag.joinRequest, nonce, 'a'.repeat(MAX_NAME_CHARS + 1), null, null]) },
    { name: `app data above ${MAX_APP_DATA_BYTES} bytes`, bytes: w([Tag.joinRequest, nonce, 'alice', 'x'.repeat(MAX_APP_DATA_BYTES), null]) },
    { name: 'unknown reject code', bytes: w([Tag.joinRejected, nonce, 'nope', '']) },
    { name: 'ICE url with an http: scheme', bytes: w([Tag.state, stateWire({ 5: [['http://turn.example.org', null, null]] })]) },
    { name: 'ICE url list empty', bytes: w([Tag.state, stateWire({ 5: [[[], null, null]] })]) },
    { name: `${MAX_MEMBERS + 1} members`, bytes: w([Tag.state, stateWire({ 4: Array.from({ length: MAX_MEMBERS + 1 }, () => [moderator.publicKey, 'm']) })]) },
    { name: 'no members', bytes: w([Tag.state, stateWire({ 4: [] })]) },
    { name: 'ban entry without its reason', bytes: w([Tag.state, stateWire({ 7: [[fill(32, 0xbb)]] })]) },
    { name: 'ban as a bare key (version 1 layout)', bytes: w([Tag.state, stateWire({ 7: [fill(32, 0xbb)] })]) },
    { name: 'room key of 16 bytes', bytes: w([Tag.state, stateWire({ 2: fill(16, 0xe7) })]) },
    { name: 'epoch above 2^32 - 1', bytes: w([Tag.state, stateWire({ 1: 2 ** 32 })]) },
    { name: 'negative state version', bytes: w([Tag.stateAck, -1]) },
    { name: `chain of ${MAX_CHAIN + 1} links`, bytes: w([Tag.moderator, Array.from({ length: MAX_CHAIN + 1 }, () => [links[0]!.key, links[0]!.signature])]) },
    { name: 'chain signature of 63 bytes', bytes: w([Tag.moderator, [[links[0]!.key, links[0]!.signature.subarray(0, 63)]]]) },
    { name: 'privilege action "delete"', bytes: w([Tag.privilegeRequest, FIXED.privilegeNonce, 'delete', 'mic', FIXED.now, privSignature]) },
    { name: 'privilege timestamp as a float', bytes: w([Tag.privilegeRequest, FIXED.privilegeNonce, 'mute', 'mic', FIXED.now + 0.5, privSignature]) },
    { name: 'privilege response granted = 1', bytes: w([Tag.privilegeResponse, FIXED.privilegeNonce, 1]) },
  ].map((c) => ({ ...c, expect: 'E_FRAME_MALFORMED' }));

  return {
    description:
      'Rooms layer vectors (docs/PROTOCOL.md §R). Byte strings are lowercase hex unless named *_base64url or text; ' +
      'timestamps are milliseconds since the Unix epoch; msgpack is the canonical (smallest) encoding of @msgpack/msgpack.',
    keys,
    invite,
    chain,
    descriptor,
    privilege,
    password,
    messages: {
      description:
        'Rooms messages (§R1): bytes = msgpack(wire array, first element the tag); decoded = the fields after decoding, byte strings as hex. ' +
        'negative: msgpack values that every decoder must refuse with E_FRAME_MALFORMED.',
      cases: messages,
      negative,
    },
  };
}
