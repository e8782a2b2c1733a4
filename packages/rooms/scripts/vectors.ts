/**
 * Deterministic test vectors for the rooms layer (docs/PROTOCOL.md §R1, §R2, §R4, §R6, §R7, §R8), written to
 * docs/test-vectors/rooms.json. Every key, nonce, timestamp and ISK is fixed, so an implementation in another
 * language can reproduce every byte (Ed25519 signatures are deterministic).
 *
 * `pnpm vectors` writes the file; packages/rooms/test/vectors.test.ts regenerates it and fails when it differs
 * from the committed one, then runs each vector through our own code paths.
 */
import { SealsigError, ed25519KeyPair, ed25519Sign, equalBytes, fromBase64Url, toBase64Url, toHex, u32be, u64be, utf8, xchachaOpen, type KeyPair } from '@sealsig/core';
import { encode } from '@msgpack/msgpack';
import { chainEnd, extendChain } from '../src/chain.js';
import { sealDescriptor } from '../src/descriptor.js';
import { putInput, signWriteProof } from '../src/store/proof.js';
import { MAX_CHAIN_INDEX, MAX_EXPIRES_S, MAX_INVITE_CHARS, encodeInvite, type Invite } from '../src/invite.js';
import { checkGrant, grantOf, inviteInput, inviteSignatureValid, type InviteSigners } from '../src/invite-grant.js';
import { encodeGrant, type InviteGrant } from '../src/wire-grant.js';
import { deskVectors } from './desk-vectors.js';
import { RoomLabels, descriptorKeys, lobbyTopicOf, signatureInput } from '../src/labels.js';
import { confirmationsFromIsk, cpaceChannelId, type CpaceEndpoints } from '../src/password.js';
import { calculateGenerator, generatorString, DSI, scalarMult, scalarMultVfy } from '../src/cpace/group.js';
import { iskIr } from '../src/cpace/transcript.js';
import { signPrivilegeRequest, type PrivilegeFields } from '../src/privileges.js';
import { MAX_APP_DATA_BYTES, MAX_CHAIN, MAX_MEMBERS, MAX_NAME_CHARS, MAX_REVOKED, Tag, decodeState, toWire, type ChainLink, type Message, type RoomState } from '../src/wire.js';
// rules (scenario vectors, ruleVectors below)
import { isSealsigError } from '@sealsig/core';
import { forks, isCertifiedModerator, linkInput } from '../src/chain.js';
import { receiveChange, receiveState } from '../src/commits.js';
import { checkInviteFresh, parseInvite } from '../src/invite.js';
import { encodeChain, encodeState, type StateChange } from '../src/wire.js';

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
  /** The third and fourth moderators of the descriptor-put vector's handovers (links 3 and 4). */
  laterSuccessorSeeds: [fill(32, 0xd4), fill(32, 0xd5)],
  /** Invite ids (§R2): the password invite, the one without, the one of the second moderator, the longest one, a revoked one. */
  inviteIds: [seq(8, 0x60), seq(8, 0x68), seq(8, 0x78), fill(8, 0xff), seq(8, 0x88)],
  /** The privilege requester and the stream owner. */
  requesterSeed: fill(32, 0xf1),
  ownerSeed: fill(32, 0xf2),
  roomSessionIdBytes: seq(16, 0x30),
  descriptorNonce: seq(24, 0x50),
  descriptorTitle: 'Weekly sync',
  /** 2026-11-24T00:00:00Z, as in core's vectors. */
  now: 1_795_478_400_000,
  descriptorTtlMs: 60_000,
  /** An invite holder who is not the moderator (the descriptor-put vector). */
  descriptorStrangerSeed: fill(32, 0xd9),
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
      'descriptor_id = KDF(sid, "sealsig/v2/rooms/descriptor-id", "", 16), descriptor_key = KDF(sid, ".../descriptor-key", "", 32); ' +
      'lobby_topic = the core route tag of sid as base64url (core §3.3).',
    session_id: sessionId,
    session_id_bytes: toHex(FIXED.sessionIdBytes),
    descriptor_id: toHex(dk.id),
    descriptor_id_base64url: toBase64Url(dk.id),
    descriptor_key: toHex(dk.key),
    lobby_topic: lobbyTopic,
  };

  // --- invites (§R2) ----------------------------------------------------------------------------------
  const inviteExpiresS = Math.floor(FIXED.now / 1000) + 7 * 24 * 3600;
  const signedInvite = (signer: KeyPair, chainIndex: number, passwordRequired: boolean, inviteId: Uint8Array, expiresAtS = inviteExpiresS): Invite => {
    const signature = ed25519Sign(signer.privateKey, inviteInput(dk.id, inviteId, expiresAtS, chainIndex, passwordRequired ? 1 : 0));
    return { sessionId, moderatorKey: signer.publicKey, chainIndex, passwordRequired, expiresAt: expiresAtS * 1000, id: inviteId, signature };
  };
  const inviteCase = (i: Invite) => {
    const text = encodeInvite(i);
    const flags = i.passwordRequired ? 1 : 0;
    const bytes = encode([3, FIXED.sessionIdBytes, i.moderatorKey, i.chainIndex, flags, i.expiresAt / 1000, i.id, i.signature]);
    if (!equalBytes(fromBase64Url(text)!, bytes) || !inviteSignatureValid(i)) fail('invite bytes');
    const signedInput = inviteInput(dk.id, i.id, i.expiresAt / 1000, i.chainIndex, flags);
    if (!equalBytes(signedInput, signatureInput('sealsig/v3/rooms/invite', dk.id, i.id, u64be(i.expiresAt / 1000), u32be(i.chainIndex), u32be(flags)))) fail('invite input');
    return {
      password_required: i.passwordRequired,
      flags,
      moderator_key: toHex(i.moderatorKey),
      chain_index: i.chainIndex,
      expires_at_s: i.expiresAt / 1000,
      invite_id: toHex(i.id),
      signed_input: toHex(signedInput),
      signature: toHex(i.signature),
      text,
      text_chars: text.length,
      msgpack: toHex(bytes),
    };
  };
  const successor1 = ed25519KeyPair(FIXED.successorSeeds[0]!);
  const passwordInvite = signedInvite(moderator, 0, true, FIXED.inviteIds[0]!);
  const longest = signedInvite(moderator, MAX_CHAIN_INDEX, true, FIXED.inviteIds[3]!, MAX_EXPIRES_S);
  const invite = {
    description:
      'Invites (§R2), layout version 3: text = base64url (no padding) of msgpack([3, sid (bin 16), moderator_key (bin 32), chain_index (uint 0..16), flags (uint 0..1), ' +
      'expires_at (uint, Unix seconds), invite_id (bin 8), signature (bin 64)]); flags = 1 if a password is required; ' +
      'signature = Ed25519-Sign(moderator, "sealsig/v3/rooms/invite" || 0x00 || descriptor_id (16) || invite_id (8) || u64be(expires_at, Unix seconds) || u32be(chain_index) || u32be(flags)) (signed_input). ' +
      'The third case pins the second moderator of the chain below (chain_index 1, signed by it); the fourth is the longest invite there is (chain_index 16, flags 1, ' +
      `expires_at ${MAX_EXPIRES_S} s): ${longest === undefined ? 0 : encodeInvite(longest).length} characters, at most max_chars.`,
    session_id: sessionId,
    max_chars: MAX_INVITE_CHARS,
    moderator: hexKeyPair(FIXED.moderatorSeed, moderator),
    cases: [inviteCase(passwordInvite), inviteCase(signedInvite(moderator, 0, false, FIXED.inviteIds[1]!)), inviteCase(signedInvite(successor1, 1, false, FIXED.inviteIds[2]!)), inviteCase(longest)],
  };
  if (encodeInvite(longest).length > MAX_INVITE_CHARS) fail('the longest invite is above MAX_INVITE_CHARS');

  // --- moderator chain (§R6) --------------------------------------------------------------------------
  const successors = FIXED.successorSeeds.map((s) => ed25519KeyPair(s));
  const signers = [moderator, ...successors];
  let links: ChainLink[] = [];
  const linkAt = [ { version: 5, epoch: 2 }, { version: 9, epoch: 3 } ];
  const chainLinks = successors.map((next, i) => {
    const index = i + 1;
    const { version, epoch } = linkAt[i]!;
    const input = signatureInput(RoomLabels.transferSignature, dk.id, u32be(index), u64be(version), u32be(epoch), next.publicKey);
    links = extendChain(links, dk.id, signers[i]!.privateKey, next.publicKey, version, epoch);
    const link = links[i]!;
    if (!equalBytes(link.signature, ed25519Sign(signers[i]!.privateKey, input))) fail('chain signature');
    return {
      index,
      version,
      epoch,
      signer_public: toHex(signers[i]!.publicKey),
      next: hexKeyPair(FIXED.successorSeeds[i]!, next),
      signed_input: toHex(input),
      signature: toHex(link.signature),
      wire: toHex(encode([next.publicKey, version, epoch, link.signature])),
    };
  });
  const end = chainEnd(links, dk.id, { key: moderator.publicKey, index: 0 }) ?? fail('chain end');
  if (!equalBytes(chainEnd(links, dk.id, { key: successors[0]!.publicKey, index: 1 }) ?? fail('chain end from pin 1'), end)) fail('chain end from pin 1');
  const chain = {
    description:
      'Moderator chain (§R6): signature_i = Ed25519-Sign(key_{i-1}, "sealsig/v2/rooms/moderator-transfer" || 0x00 || descriptor_id (16) || u32be(i) || u64be(version_i) || u32be(epoch_i) || key_i), ' +
      'key_0 = the room creator key; version_i and epoch_i = the state version and epoch at which the transfer was made (the version of the state that first lists key_i as moderator); ' +
      'versions strictly increase. A link travels as msgpack [key_i, version_i, epoch_i, signature_i] (wire). end = key of the last link, from either pin.',
    descriptor_id: toHex(dk.id),
    pinned: toHex(moderator.publicKey),
    links: chainLinks,
    end: toHex(end),
  };

  // --- sealed descriptor (§R7) ------------------------------------------------------------------------
  const descInvite: Invite = passwordInvite;
  const expiresAt = FIXED.now + FIXED.descriptorTtlMs;
  const descSerial = FIXED.now;
  const content = encode([2, FIXED.descriptorTitle, moderator.publicKey, 1, expiresAt, [], descSerial]);
  const descSignature = ed25519Sign(moderator.privateKey, signatureInput(RoomLabels.descriptorSignature, dk.id, content));
  const sealedD = sealDescriptor({
    invite: descInvite,
    title: FIXED.descriptorTitle,
    moderatorKey: moderator.publicKey,
    chain: [],
    expiresAt,
    serial: descSerial,
    signingSecret: moderator.privateKey,
    nonce: FIXED.descriptorNonce,
  });
  const opened = xchachaOpen(dk.key, sealedD.sealed.subarray(0, 24), sealedD.sealed.subarray(24), dk.id);
  if (!equalBytes(opened, Uint8Array.from([...content, ...descSignature]))) fail('descriptor content');
  const descriptor = {
    description:
      'Sealed descriptor (§R7) for the password invite: content = msgpack([2, title, moderator_key, flags, expires_at (uint, Unix ms), chain, serial (uint)]); ' +
      'signature = Ed25519-Sign(moderator, "sealsig/v2/rooms/descriptor-signature" || 0x00 || descriptor_id || content); ' +
      'sealed = nonce || XChaCha20-Poly1305(descriptor_key, nonce, content || signature, ad = descriptor_id). ' +
      'Readers refuse it (E_STALE) once expires_at_ms <= now (Unix ms), and refuse a serial below the newest they verified.',
    invite: encodeInvite(passwordInvite),
    title: FIXED.descriptorTitle,
    moderator_key: toHex(moderator.publicKey),
    password_required: true,
    expires_at_ms: expiresAt,
    chain: [],
    serial: descSerial,
    nonce: toHex(FIXED.descriptorNonce),
    content: toHex(content),
    signed_input: toHex(signatureInput(RoomLabels.descriptorSignature, dk.id, content)),
    signature: toHex(descSignature),
    sealed: toHex(sealedD.sealed),
    id: sealedD.id,
  };

  // --- descriptor writes (§R7): the store's rule, one put at a time ------------------------------------
  // The same object is written to packages/rooms/test/fixtures/descriptor-put.json and
  // packages/relay/test/fixtures/descriptor-put.json (gen-vectors.ts), so both verifiers run the same bytes.
  const stranger = ed25519KeyPair(FIXED.descriptorStrangerSeed);
  const [successor3, successor4] = FIXED.laterSuccessorSeeds.map((seed) => ed25519KeyPair(seed)) as [KeyPair, KeyPair];
  const writers = { moderator, successor: successors[0]!, successor2: successors[1]!, successor3, successor4, stranger } as const;
  // Links 3 and 4 continue the chain vector's two links (made at versions 5 and 9): M2 -> M3 at version 12, M3 -> M4
  // at version 12 (not above link 3's: refused) and at version 15.
  const l3 = extendChain(links, dk.id, successors[1]!.privateKey, successor3.publicKey, 12, 4);
  const l4stale = extendChain(l3, dk.id, successor3.privateKey, successor4.publicKey, 12, 4);
  const l4 = extendChain(l3, dk.id, successor3.privateKey, successor4.publicKey, 15, 5);
  const handoverChain = links.slice(0, 1); // moderator -> successor, link 1 of the chain vector
  const ttl = FIXED.descriptorTtlMs;
  const putCase = (description: string, who: keyof typeof writers, serial: number, value: Uint8Array, chainUsed: ChainLink[], expect: string) => {
    const w = writers[who];
    const proofBytes = signWriteProof(w.privateKey, w.publicKey, dk.id, serial, ttl, value, chainUsed);
    const input = signatureInput(RoomLabels.descriptorPut, dk.id, u64be(serial), u64be(ttl), value);
    if (!equalBytes(input, putInput(dk.id, serial, ttl, value))) fail('descriptor put input');
    if (!equalBytes(proofBytes, encode([w.publicKey, serial, ed25519Sign(w.privateKey, input), encodeChain(chainUsed)]))) fail('descriptor put proof');
    return { description, writer: who, serial, ttl_ms: ttl, value: toHex(value), signed_input: toHex(input), proof: toHex(proofBytes), expect };
  };
  const put1 = putCase('first put: binds the id to the moderator key', 'moderator', FIXED.now, sealedD.sealed, [], 'stored');
  const steps = [
    put1,
    putCase('an invite holder who is not the moderator', 'stranger', FIXED.now + 1, seq(48, 0x20), [], 'forbidden'),
    { ...put1, description: 'the first put again (a recorded put: its serial is not above the stored one)', expect: 'forbidden' },
    putCase('the successor without the handover link', 'successor', FIXED.now + 2, seq(48, 0x30), [], 'forbidden'),
    putCase('the successor with the chain moderator -> successor: the binding moves to it', 'successor', FIXED.now + 2, seq(48, 0x30), handoverChain, 'stored'),
    putCase('the former moderator, carrying the same chain', 'moderator', FIXED.now + 3, seq(48, 0x40), handoverChain, 'forbidden'),
    putCase('the former moderator without a chain', 'moderator', FIXED.now + 3, seq(48, 0x40), [], 'forbidden'),
    putCase('the successor again, without the chain', 'successor', FIXED.now + 3, seq(48, 0x50), [], 'stored'),
    putCase('the third moderator M3 with [l1, l2]: the chain ends at M2, not at the writer', 'successor3', FIXED.now + 4, seq(48, 0x60), links, 'forbidden'),
    putCase('M3 with [l1, l2, l3]: the walk starts after link 1 (the bound key\'s), l2 verifies under M1 and l3 under M2: two links at once, the binding moves to M3', 'successor3', FIXED.now + 4, seq(48, 0x60), l3, 'stored'),
    putCase('M2, the intermediate moderator, with [l1, l2]: not bound, and no chain leads from M3 back to it', 'successor2', FIXED.now + 5, seq(48, 0x70), links, 'forbidden'),
    putCase('M4 with [l1, l2, l3, l4] where l4 was made at version 12, link 3\'s own: the first link after the bound key\'s must have a higher version', 'successor4', FIXED.now + 5, seq(48, 0x70), l4stale, 'forbidden'),
    putCase('M4 with [l1, l2, l3, l4 made at version 15]: the binding moves to M4', 'successor4', FIXED.now + 5, seq(48, 0x70), l4, 'stored'),
  ];
  const good = fromHexText(steps[7]!.proof);
  const malformedProof = (description: string, proof: Uint8Array) => ({ description, writer: 'successor', ttl_ms: ttl, value: steps[7]!.value, proof: toHex(proof), expect: 'bad_request' });
  const descriptorPut = {
    description:
      'Descriptor writes (§R7), to be applied in order to an empty store at one instant: proof = msgpack([write_key (bin 32), serial (uint), signature (bin 64), chain]); ' +
      'signature = Ed25519-Sign(write_key, "sealsig/v2/rooms/descriptor-put" || 0x00 || descriptor_id || u64be(serial) || u64be(ttl_ms) || value); ' +
      'chain as in §R6 ([[key, version, epoch, signature], ...]). The first put binds the id to write_key; a later one is stored iff its signature verifies, ' +
      'serial > the stored serial, and write_key is the bound key or the chain certifies it from the bound key: the walk starts after the last link whose key is the bound key (link p; ' +
      'none: the bound key is key_0 and the walk starts at link 1), every later link verifies under the key before it (over its chain index) with a version above the one before it ' +
      '(the first one: above link p\'s version, any version if p = 0; never compared with a state version, which a store does not know), and the last link\'s key is write_key. ' +
      'Links up to p are not checked. expect: stored | forbidden (403, E_AUTH_FAILED). ' +
      'malformed: proofs every store refuses before checking anything (400, E_INVALID_ARGUMENT).',
    descriptor_id: toHex(dk.id),
    id: toBase64Url(dk.id),
    writers: {
      moderator: toHex(moderator.publicKey),
      successor: toHex(writers.successor.publicKey),
      successor2: toHex(writers.successor2.publicKey),
      successor3: toHex(successor3.publicKey),
      successor4: toHex(successor4.publicKey),
      stranger: hexKeyPair(FIXED.descriptorStrangerSeed, stranger),
    },
    steps,
    malformed: [
      malformedProof('a trailing byte', Uint8Array.from([...good, 0])),
      malformedProof('serial as uint 64 where uint 8 would do (not canonical)', Uint8Array.from([0x94, 0xc4, 0x20, ...writers.successor.publicKey, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xc4, 0x40, ...new Uint8Array(64), 0x90])),
      malformedProof('a chain of 17 links', encode([writers.successor.publicKey, 1, new Uint8Array(64), Array.from({ length: MAX_CHAIN + 1 }, () => encodeChain(handoverChain)[0])])),
      malformedProof('a 3-element array', encode([writers.successor.publicKey, 1, new Uint8Array(64)])),
      malformedProof('a signature of 63 bytes', encode([writers.successor.publicKey, 1, new Uint8Array(63), []])),
      malformedProof('a negative serial', encode([writers.successor.publicKey, -1, new Uint8Array(64), []])),
    ],
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
      'Privilege request (§R8): signature = Ed25519-Sign(requester, "sealsig/v2/rooms/privilege-request" || 0x00 || ' +
      'msgpack([room_topic, owner_key, action, stream_id, nonce, timestamp])); message = msgpack([13, nonce, action, stream_id, timestamp, signature]). ' +
      'room_topic is the route tag (base64url) of room_session_id; timestamp (timestamp_ms here) is Unix ms.',
    requester: hexKeyPair(FIXED.requesterSeed, requester),
    owner: hexKeyPair(FIXED.ownerSeed, owner),
    room_session_id: toBase64Url(FIXED.roomSessionIdBytes),
    room_topic: roomTopic,
    owner_key: toHex(owner.publicKey),
    action: fields.action,
    stream_id: fields.streamId,
    nonce: toHex(fields.nonce),
    timestamp_ms: fields.timestamp,
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
      'Password rooms (§R4): channel_id = lv_cat("sealsig/v2/rooms/cpace", lobby_topic, joiner_id, joiner_instance, moderator_id, moderator_instance) ' +
      '(UTF-8 strings; lv_cat as in draft-irtf-cfrg-cpace: LEB128 length prefix then bytes); ' +
      'confirm_moderator = KDF(ISK, "sealsig/v2/rooms/confirm-moderator", "", 32), confirm_joiner = KDF(ISK, "sealsig/v2/rooms/confirm-joiner", "", 32).',
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
    revoked: [{ id: FIXED.inviteIds[4]!, expiresAt: inviteExpiresS * 1000 }],
  };
  const nonce = FIXED.joinNonce;
  const grant = grantOf(passwordInvite);
  const examples: Message[] = [
    { tag: Tag.app, value: { text: 'hello, room', n: 42 } },
    { tag: Tag.joinRequest, nonce, name: 'alice', appData: { avatar: 'cat' }, share: FIXED.cpaceShareJoiner, grant },
    { tag: Tag.joinChallenge, nonce, share: FIXED.cpaceShareModerator, confirm: conf.moderator },
    { tag: Tag.joinConfirm, nonce, confirm: conf.joiner },
    { tag: Tag.joinAccepted, nonce, roomSessionId: toBase64Url(FIXED.roomSessionIdBytes), state },
    { tag: Tag.joinRejected, nonce, code: 'wrong-password', reason: 'try again later' },
    { tag: Tag.joinRejected, nonce, code: 'invite-revoked', reason: 'the invite was revoked; ask the moderator for a new one' },
    { tag: Tag.moderator, chain: links },
    { tag: Tag.state, state: { ...state, version: 4, chain: links } },
    { tag: Tag.stateAck, version: 4 },
    { tag: Tag.kicked, reason: 'spam' },
    privMessage,
    { tag: Tag.privilegeResponse, nonce: FIXED.privilegeNonce, granted: true },
    { tag: Tag.change, change: { version: 4, epoch: 1, roomKey: null, link: null, add: [{ key: fill(32, 0xcc), name: 'bob' }], remove: [], ban: [], iceServers: null, revoked: null } },
    { tag: Tag.change, change: { version: 5, epoch: 2, roomKey: fill(32, 0xe8), link: null, add: [], remove: [requester.publicKey], ban: [{ key: requester.publicKey, reason: 'spam' }], iceServers: null, revoked: null } },
    { tag: Tag.change, change: { version: 5, epoch: 1, roomKey: null, link: links[0]!, add: [], remove: [], ban: [], iceServers: [{ urls: 'stun:stun.example.org:3478' }], revoked: null } },
    { tag: Tag.change, change: { version: 4, epoch: 1, roomKey: null, link: null, add: [], remove: [], ban: [], iceServers: null, revoked: [...state.revoked, { id: FIXED.inviteIds[1]!, expiresAt: inviteExpiresS * 1000 }] } },
  ];
  const messages = examples.map((m) => ({ name: TAG_NAMES[m.tag], tag: m.tag, bytes: toHex(encode(toWire(m))), decoded: json(m) }));

  // --- malformed messages: each must give E_FRAME_MALFORMED --------------------------------------------
  const w = (v: unknown) => toHex(encode(v));
  const stateWire = (over: Partial<Record<number, unknown>>) => {
    const s: unknown[] = [3, 1, FIXED.roomKey, moderator.publicKey, [[moderator.publicKey, 'mod']], [], [], [], []];
    for (const [i, v] of Object.entries(over)) s[Number(i)] = v;
    return s;
  };
  // Each malformed state differs from a valid one in exactly the field it names.
  decodeState(stateWire({}));
  const negative = [
    { name: 'not an array', bytes: w('hello') },
    { name: 'empty array', bytes: w([]) },
    { name: 'unknown tag 99', bytes: w([99, 'x']) },
    { name: 'tag as a string', bytes: w(['1', nonce, 'alice', null, null, null]) },
    { name: 'joinConfirm with a trailing element', bytes: w([Tag.joinConfirm, nonce, conf.joiner, 0]) },
    { name: 'joinConfirm missing its confirmation', bytes: w([Tag.joinConfirm, nonce]) },
    { name: 'nonce of 15 bytes', bytes: w([Tag.joinConfirm, nonce.subarray(0, 15), conf.joiner]) },
    { name: 'nonce as a string', bytes: w([Tag.joinConfirm, toHex(nonce), conf.joiner]) },
    { name: 'CPace share of 31 bytes', bytes: w([Tag.joinRequest, nonce, 'alice', null, FIXED.cpaceShareJoiner.subarray(0, 31), null]) },
    { name: 'confirmation of 33 bytes', bytes: w([Tag.joinChallenge, nonce, FIXED.cpaceShareModerator, fill(33, 1)]) },
    { name: `name of ${MAX_NAME_CHARS + 1} characters`, bytes: w([Tag.joinRequest, nonce, 'a'.repeat(MAX_NAME_CHARS + 1), null, null, null]) },
    { name: `app data above ${MAX_APP_DATA_BYTES} bytes`, bytes: w([Tag.joinRequest, nonce, 'alice', 'x'.repeat(MAX_APP_DATA_BYTES), null, null]) },
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
    { name: `chain of ${MAX_CHAIN + 1} links`, bytes: w([Tag.moderator, Array.from({ length: MAX_CHAIN + 1 }, () => [links[0]!.key, 5, 2, links[0]!.signature])]) },
    { name: 'chain signature of 63 bytes', bytes: w([Tag.moderator, [[links[0]!.key, 5, 2, links[0]!.signature.subarray(0, 63)]]]) },
    { name: 'chain link without version and epoch (version 1 layout)', bytes: w([Tag.moderator, [[links[0]!.key, links[0]!.signature]]]) },
    { name: 'state change with 7 fields', bytes: w([Tag.change, [4, 1, null, null, [], [], []]]) },
    { name: 'state change with 8 fields (the version-2 layout, no revoked list)', bytes: w([Tag.change, [4, 1, null, null, [], [], [], null]]) },
    { name: 'state change with a room key of 31 bytes', bytes: w([Tag.change, [5, 2, fill(31, 0xe8), null, [], [], [], null, null]]) },
    { name: 'state change removing a key of 33 bytes', bytes: w([Tag.change, [5, 1, null, null, [], [fill(33, 1)], [], null, null]]) },
    { name: 'state change with an ICE list that is not an array', bytes: w([Tag.change, [5, 1, null, null, [], [], [], 'stun:x', null]]) },
    { name: 'state change revoking an invite id of 9 bytes', bytes: w([Tag.change, [5, 1, null, null, [], [], [], null, [[fill(9, 1), inviteExpiresS]]]]) },
    { name: 'state with 8 fields (the version-2 layout, no revoked list)', bytes: w([Tag.state, stateWire({}).slice(0, 8)]) },
    { name: `state with ${MAX_REVOKED + 1} revoked invites`, bytes: w([Tag.state, stateWire({ 8: Array.from({ length: MAX_REVOKED + 1 }, (_, i) => [fill(8, i), inviteExpiresS]) })]) },
    { name: `revoked invite expiring at ${MAX_EXPIRES_S + 1} s, past the bound`, bytes: w([Tag.state, stateWire({ 8: [[fill(8, 1), MAX_EXPIRES_S + 1]] })]) },
    { name: 'revoked invite without its expiry', bytes: w([Tag.state, stateWire({ 8: [[fill(8, 1)]] })]) },
    { name: 'join request without a grant (the version-2 layout)', bytes: w([Tag.joinRequest, nonce, 'alice', null, null]) },
    { name: 'grant with a signature of 63 bytes', bytes: w([Tag.joinRequest, nonce, 'alice', null, null, encodeGrant({ ...grant, signature: grant.signature.subarray(0, 63) })]) },
    { name: 'grant with flags 2', bytes: w([Tag.joinRequest, nonce, 'alice', null, null, encodeGrant({ ...grant, flags: 2 })]) },
    { name: 'grant with chain index 17', bytes: w([Tag.joinRequest, nonce, 'alice', null, null, encodeGrant({ ...grant, chainIndex: 17 })]) },
    { name: 'grant without its signer (5 elements)', bytes: w([Tag.joinRequest, nonce, 'alice', null, null, encodeGrant(grant).filter((_, i) => i !== 4)]) },
    { name: 'privilege action "delete"', bytes: w([Tag.privilegeRequest, FIXED.privilegeNonce, 'delete', 'mic', FIXED.now, privSignature]) },
    { name: 'privilege timestamp as a float', bytes: w([Tag.privilegeRequest, FIXED.privilegeNonce, 'mute', 'mic', FIXED.now + 0.5, privSignature]) },
    { name: 'privilege response granted = 1', bytes: w([Tag.privilegeResponse, FIXED.privilegeNonce, 1]) },
  ].map((c) => ({ ...c, expect: 'E_FRAME_MALFORMED' }));

  return {
    description:
      'Rooms layer vectors (docs/PROTOCOL.md §R). Byte strings are lowercase hex unless named *_base64url or text; ' +
      'times carry their unit in their key: *_s is Unix seconds (invite and revocation expiries, as on the wire), *_ms is milliseconds (Unix time, or a duration for ttl_ms and idle_ms); ' +
      'msgpack is the canonical (smallest) encoding of @msgpack/msgpack.',
    keys,
    invite,
    chain,
    descriptor,
    descriptor_put: descriptorPut,
    privilege,
    password,
    rules: ruleVectors(),
    messages: {
      description:
        'Rooms messages (§R1): bytes = msgpack(wire array, first element the tag); decoded = the fields after decoding, byte strings as hex, with the reference implementation\'s names ' +
        'and units: a revoked invite\'s expiresAt and a privilege request\'s timestamp are Unix ms (a revoked invite carries seconds on the wire: expiresAt = 1000 × that), a grant\'s expiresAtS Unix seconds. ' +
        'negative: msgpack values that every decoder must refuse with E_FRAME_MALFORMED.',
      cases: messages,
      negative,
    },
  };
}

// --- rules (§R2, §R5, §R6): scenario vectors ---------------------------------------------------------------
// Each gives a member's (or a joiner's) starting point as data, one input and the outcome our code computes
// (receiveChange, receiveState, isCertifiedModerator + forks, chainEnd, parseInvite + checkInviteFresh). Each
// scenario also names the outcome it is meant to show; the generator fails if the code disagrees.

/** The keys of the rules vectors: the creator M0, its successors M1 (link 1) and M2 (link 2), the member whose view the vectors take, carol, and X, whom the former moderator M0 names on the side. */
const RULES_SEEDS = { m0: fill(32, 0xd1), m1: fill(32, 0xd2), m2: fill(32, 0xd3), self: fill(32, 0xa1), carol: fill(32, 0xa2), x: fill(32, 0xa3) };

type RuleOutcome =
  | { result: 'applied'; ack: number; version: number; epoch: number; moderator: string; members: string[]; state: string }
  | { result: 'ignored'; ack: number }
  | { result: 'removed'; reason: string | null }
  | { result: 'moderator'; moderator: string; chain_length: number }
  | { result: 'none' }
  | { result: 'accepted'; session_id: string; moderator_key: string; chain_index: number; password_required: boolean; expires_at_s: number; invite_id: string }
  | { result: 'admitted' }
  | { result: 'refused'; code: string }
  | { result: 'end'; end: string | null }
  | { error: string; reason_prefix?: string };

function ruleCode(e: unknown): { error: string } {
  if (isSealsigError(e)) return { error: e.code };
  throw e;
}

function ruleVectors(): Record<string, unknown> {
  const sessionId = toBase64Url(FIXED.sessionIdBytes);
  const id = descriptorKeys(sessionId).id;
  const k = Object.fromEntries(Object.entries(RULES_SEEDS).map(([n, seed]) => [n, ed25519KeyPair(seed)])) as Record<keyof typeof RULES_SEEDS, KeyPair>;
  const hx = (v: unknown) => toHex(encode(v));
  const check = (section: string, name: string, intended: string, o: RuleOutcome): RuleOutcome => {
    const got = 'error' in o ? o.error : o.result;
    if (got !== intended) fail(`rules.${section} "${name}": the code gives ${got}, the scenario means ${intended}`);
    return o;
  };
  const link = (signer: KeyPair, index: number, next: KeyPair, version: number, epoch: number): ChainLink => ({
    key: next.publicKey,
    version,
    epoch,
    signature: ed25519Sign(signer.privateKey, linkInput(id, index, version, epoch, next.publicKey)),
  });
  const flipped = (l: ChainLink): ChainLink => {
    const signature = l.signature.slice();
    signature[10]! ^= 1;
    return { ...l, signature };
  };
  const l1 = link(k.m0, 1, k.m1, 5, 2); // M0 hands over to M1 at version 5, epoch 2
  const l2 = link(k.m1, 2, k.m2, 8, 3); // M1 hands over to M2 at version 8, epoch 3
  const l2at6 = link(k.m1, 2, k.m2, 6, 3); // ... "at version 6": older than the member's 7, where M1 still moderates
  const l2at7 = link(k.m1, 2, k.m2, 7, 3); // ... "at version 7": the member's own version
  const l2at5 = link(k.m1, 2, k.m2, 5, 3); // ... at version 5: not above link 1's
  const l2at4 = link(k.m1, 2, k.m2, 4, 3); // ... at version 4: below link 1's
  const lx = link(k.m0, 1, k.x, 6, 2); // the former moderator M0 names X on the side: a fork of [l1]
  const e8 = fill(32, 0xe8);
  const members = [
    { key: k.m0.publicKey, name: 'ann' },
    { key: k.m1.publicKey, name: 'mod' },
    { key: k.self.publicKey, name: 'self' },
    { key: k.m2.publicKey, name: 'bob' },
  ];
  const carol = { key: k.carol.publicKey, name: 'carol' };
  /** The member's state: version 7, epoch 3, moderated by M1 since link 1. */
  const s7: RoomState = { version: 7, epoch: 3, roomKey: FIXED.roomKey, moderator: k.m1.publicKey, members, iceServers: [{ urls: 'stun:stun.example.org:3478' }], chain: [l1], banned: [], revoked: [] };
  const selfListed = (st: RoomState) => st.members.some((m) => equalBytes(m.key, k.self.publicKey));
  const outcome = (own: RoomState, next: RoomState | undefined): RuleOutcome => {
    if (next === undefined) return { result: 'ignored', ack: own.version };
    if (!selfListed(next)) return { result: 'removed', reason: next.banned.find((b) => equalBytes(b.key, k.self.publicKey))?.reason ?? null };
    return { result: 'applied', ack: next.version, version: next.version, epoch: next.epoch, moderator: toHex(next.moderator), members: next.members.map((m) => m.name), state: hx(encodeState(next)) };
  };

  // Changes (§R5.2), each on top of s7.
  const ch = (c: Partial<StateChange>): StateChange => ({ version: 8, epoch: 3, roomKey: null, link: null, add: [], remove: [], ban: [], iceServers: null, revoked: null, ...c });
  const changeCase = (name: string, intended: string, change: StateChange, sender: KeyPair, broadcast: boolean) => {
    let o: RuleOutcome;
    try {
      o = outcome(s7, receiveChange(s7, change, sender.publicKey, broadcast, id));
    } catch (e) {
      o = ruleCode(e);
    }
    return { name, sender: toHex(sender.publicKey), broadcast, message: hx(toWire({ tag: Tag.change, change })), expect: check('changes', name, intended, o) };
  };
  const FM = 'E_FRAME_MALFORMED';
  const changes = [
    changeCase('join: carol added, in a broadcast', 'applied', ch({ add: [carol] }), k.m1, true),
    changeCase('ICE servers replaced, in a broadcast', 'applied', ch({ iceServers: [{ urls: ['turn:turn.example.org:3478'], username: '1795478460:self', credential: 'c2VjcmV0' }] }), k.m1, true),
    changeCase('kick, pairwise: bob removed and banned, epoch 4 with its room key', 'applied', ch({ epoch: 4, roomKey: e8, remove: [k.m2.publicKey], ban: [{ key: k.m2.publicKey, reason: 'spam' }] }), k.m1, false),
    changeCase('rotation alone, pairwise', 'applied', ch({ epoch: 4, roomKey: e8 }), k.m1, false),
    changeCase('transfer to bob (M2), broadcast by the moderator: link 2 made at version 8, epoch 3, verifies from the pin (M1, 1)', 'applied', ch({ link: l2 }), k.m1, true),
    changeCase('the same transfer repaired by the successor it names, pairwise', 'applied', ch({ link: l2 }), k.m2, false),
    changeCase('this member kicked: not listed any more, the ban entry gives the reason', 'removed', ch({ epoch: 4, roomKey: e8, remove: [k.self.publicKey], ban: [{ key: k.self.publicKey, reason: 'off topic' }] }), k.m1, false),
    changeCase('version 9 on top of 7 (a gap): ignored, ack 7', 'ignored', ch({ version: 9, add: [carol] }), k.m1, true),
    changeCase('version 7 again (a duplicate): ignored, ack 7', 'ignored', ch({ version: 7, add: [carol] }), k.m1, true),
    changeCase('from bob, who is not the moderator', 'E_ACCESS_DENIED', ch({ add: [carol] }), k.m2, true),
    changeCase('from the former moderator M0', 'E_ACCESS_DENIED', ch({ add: [carol] }), k.m0, true),
    changeCase('a room key in a broadcast', FM, ch({ epoch: 4, roomKey: e8 }), k.m1, true),
    changeCase('a room key without a new epoch', FM, ch({ roomKey: e8 }), k.m1, false),
    changeCase('a new epoch without a room key', FM, ch({ epoch: 4 }), k.m1, true),
    changeCase('epoch + 2', FM, ch({ epoch: 5, roomKey: e8 }), k.m1, false),
    changeCase('removes a key that is not listed (carol)', FM, ch({ remove: [k.carol.publicKey] }), k.m1, true),
    changeCase('adds a key that is listed (bob)', FM, ch({ add: [{ key: k.m2.publicKey, name: 'bob again' }] }), k.m1, true),
    changeCase('empties the roster', FM, ch({ remove: members.map((m) => m.key) }), k.m1, true),
    changeCase('removes the moderator (a moderator that is not a member)', FM, ch({ remove: [k.m1.publicKey] }), k.m1, true),
    changeCase('transfer to carol, who is not a member (the link verifies)', FM, ch({ link: link(k.m1, 2, k.carol, 8, 3) }), k.m1, true),
    changeCase('transfer whose link was made at version 9, the change being version 8 (the link verifies)', FM, ch({ link: link(k.m1, 2, k.m2, 9, 3) }), k.m1, true),
    changeCase('transfer whose link was made at epoch 4, the change being epoch 3 (the link verifies)', FM, ch({ link: link(k.m1, 2, k.m2, 8, 4) }), k.m1, true),
    changeCase('transfer whose link signature fails (one bit flipped)', 'E_AUTH_FAILED', ch({ link: flipped(l2) }), k.m1, true),
    changeCase('transfer sent by bob with a link bob signed himself', 'E_AUTH_FAILED', ch({ link: link(k.m2, 2, k.m2, 8, 3) }), k.m2, false),
    changeCase('transfer sent by bob with a link signed by the former moderator M0', 'E_AUTH_FAILED', ch({ link: link(k.m0, 2, k.m2, 8, 3) }), k.m2, false),
  ];

  // Whole states (§R5, §R6), each received by the member holding s7.
  const st = (over: Partial<RoomState>): RoomState => ({ ...s7, ...over });
  const stateCase = (name: string, intended: string, state: RoomState, sender: KeyPair) => {
    let o: RuleOutcome;
    try {
      o = outcome(s7, receiveState(s7, state, sender.publicKey, id));
    } catch (e) {
      o = ruleCode(e);
    }
    return { name, sender: toHex(sender.publicKey), message: hx(toWire({ tag: Tag.state, state })), expect: check('states', name, intended, o) };
  };
  const withX = [...members, { key: k.x.publicKey, name: 'x' }];
  const states = [
    stateCase('from the moderator, version 9 (a repair over a gap)', 'applied', st({ version: 9, members: [...members, carol] }), k.m1),
    stateCase('from the moderator, version 7 (the same): ignored, ack 7', 'ignored', st({}), k.m1),
    stateCase('from the moderator, version 6 (older): ignored, ack 7', 'ignored', st({ version: 6 }), k.m1),
    stateCase('from the moderator, not listing this member: removed, reason from the ban list', 'removed', st({ version: 9, epoch: 4, roomKey: e8, members: members.filter((m) => m !== members[2]), banned: [{ key: k.self.publicKey, reason: 'flooding' }] }), k.m1),
    stateCase('from bob, not the moderator, chain unchanged', 'E_ACCESS_DENIED', st({ version: 9 }), k.m2),
    stateCase('a successor certified after the member\'s state: M2, chain [l1, l2], link 2 made at version 8 > 7', 'applied', st({ version: 9, moderator: k.m2.publicKey, chain: [l1, l2] }), k.m2),
    stateCase('a stale transfer link: link 2 made at version 6, older than the member\'s 7', 'E_ACCESS_DENIED', st({ version: 9, moderator: k.m2.publicKey, chain: [l1, l2at6] }), k.m2),
    stateCase('a stale transfer link: link 2 made at version 7, the member\'s own', 'E_ACCESS_DENIED', st({ version: 9, moderator: k.m2.publicKey, chain: [l1, l2at7] }), k.m2),
    stateCase('a successor chain whose new link does not verify (one bit flipped)', 'E_ACCESS_DENIED', st({ version: 9, moderator: k.m2.publicKey, chain: [l1, flipped(l2)] }), k.m2),
    stateCase('the former moderator\'s side chain [lx] naming X: does not extend the member\'s chain', 'E_ACCESS_DENIED', st({ version: 9, moderator: k.x.publicKey, members: withX, chain: [lx] }), k.x),
    stateCase('a certified chain to M2, sent by M0 (the state\'s moderator is not its sender)', 'E_ACCESS_DENIED', st({ version: 9, moderator: k.m2.publicKey, chain: [l1, l2] }), k.m0),
  ];

  // Moderator announcements a joiner (or a resynchronising member) hears in the lobby (§R3, §R6).
  const announceCase = (name: string, intended: string, pin: { key: KeyPair; index: number }, after: number, heard: [KeyPair, ChainLink[]][]) => {
    const p = { key: pin.key.publicKey, index: pin.index };
    const certified: ChainLink[][] = [];
    let chosen: { key: Uint8Array; length: number } | undefined;
    let o: RuleOutcome | undefined;
    for (const [sender, chain] of heard) {
      if (!isCertifiedModerator(sender.publicKey, chain, id, p, after)) continue;
      if (certified.some((c) => forks(c, chain))) {
        o = { error: 'E_ACCESS_DENIED', reason_prefix: 'fork' };
        break;
      }
      certified.push(chain);
      if (chosen === undefined || chain.length > chosen.length) chosen = { key: sender.publicKey, length: chain.length };
    }
    o ??= chosen === undefined ? { result: 'none' } : { result: 'moderator', moderator: toHex(chosen.key), chain_length: chosen.length };
    return {
      name,
      pin: { key: toHex(p.key), index: p.index },
      after,
      heard: heard.map(([sender, chain]) => ({ sender: toHex(sender.publicKey), message: hx(toWire({ tag: Tag.moderator, chain })) })),
      expect: check('announcements', name, intended, o),
    };
  };
  const announcements = [
    announceCase('old invite (M0, 0): M1 announces [l1], M2 [l1, l2]: the longest chain', 'moderator', { key: k.m0, index: 0 }, -1, [[k.m1, [l1]], [k.m2, [l1, l2]]]),
    announceCase('old invite (M0, 0): M0 announces [], M2 [l1, l2]: a prefix, not a fork', 'moderator', { key: k.m0, index: 0 }, -1, [[k.m0, []], [k.m2, [l1, l2]]]),
    announceCase('old invite (M0, 0): M2 announces [l1, l2] and X the former moderator\'s side chain [lx]: fork', 'E_ACCESS_DENIED', { key: k.m0, index: 0 }, -1, [[k.m2, [l1, l2]], [k.x, [lx]]]),
    announceCase('old invite (M0, 0): only X [lx] in sight (M2 hidden): X is taken, undetectable', 'moderator', { key: k.m0, index: 0 }, -1, [[k.x, [lx]]]),
    announceCase('old invite (M0, 0): only the former moderator M0 [] in sight: M0 is taken, undetectable', 'moderator', { key: k.m0, index: 0 }, -1, [[k.m0, []]]),
    announceCase('new invite (M2, 2): X [lx] and M0 [] are not certified from the pin; M2 [l1, l2] is', 'moderator', { key: k.m2, index: 2 }, -1, [[k.x, [lx]], [k.m0, []], [k.m2, [l1, l2]]]),
    announceCase('new invite (M2, 2): only X [lx] and M0 [] in sight: nobody', 'none', { key: k.m2, index: 2 }, -1, [[k.x, [lx]], [k.m0, []]]),
    announceCase('resync of a member at version 7 (pin M1, 1, after 7): M2 [l1, l2] made at 8', 'moderator', { key: k.m1, index: 1 }, 7, [[k.m2, [l1, l2]]]),
    announceCase('resync of a member at version 7 (pin M1, 1, after 7): M2 with a stale link 2 made at 6: ignored', 'none', { key: k.m1, index: 1 }, 7, [[k.m2, [l1, l2at6]]]),
    announceCase('resync (pin M1, 1, after 7): X [lx] and M0 [] ignored', 'none', { key: k.m1, index: 1 }, 7, [[k.x, [lx]], [k.m0, []]]),
    announceCase('old invite (M0, 0): M1 announces [l1, l2], a chain that ends at M2, not at its sender: ignored', 'none', { key: k.m0, index: 0 }, -1, [[k.m1, [l1, l2]]]),
    announceCase('old invite (M0, 0): M2 announces [l1, l2 made at 5]: versions not increasing, ignored', 'none', { key: k.m0, index: 0 }, -1, [[k.m2, [l1, l2at5]]]),
  ];

  // chainEnd (§R6).
  const chainCase = (name: string, intended: 'key' | 'null', pin: { key: KeyPair; index: number }, chain: ChainLink[]) => {
    const end = chainEnd(chain, id, { key: pin.key.publicKey, index: pin.index });
    const o = check('chains', name, 'end', { result: 'end', end: end === undefined ? null : toHex(end) });
    if ((end === undefined) !== (intended === 'null')) fail(`rules.chains "${name}"`);
    return { name, pin: { key: toHex(pin.key.publicKey), index: pin.index }, chain: hx(encodeChain(chain)), expect: o };
  };
  const chains = [
    chainCase('[l1, l2] from (M0, 0): M2', 'key', { key: k.m0, index: 0 }, [l1, l2]),
    chainCase('[l1, l2] from (M1, 1): link 1 not checked, M2', 'key', { key: k.m1, index: 1 }, [l1, l2]),
    chainCase('[] from (M0, 0): M0', 'key', { key: k.m0, index: 0 }, []),
    chainCase('versions equal (5, 5)', 'null', { key: k.m0, index: 0 }, [l1, l2at5]),
    chainCase('versions decreasing (5, 4)', 'null', { key: k.m0, index: 0 }, [l1, l2at4]),
    chainCase('link 2 signed by M0, not by M1', 'null', { key: k.m0, index: 0 }, [l1, link(k.m0, 2, k.m2, 8, 3)]),
    chainCase('link 2 signed as index 1', 'null', { key: k.m0, index: 0 }, [l1, link(k.m1, 1, k.m2, 8, 3)]),
    chainCase('pin (M0, 1): the key at index 1 is M1', 'null', { key: k.m0, index: 1 }, [l1, l2]),
    chainCase('pin (M2, 3): beyond the chain', 'null', { key: k.m2, index: 3 }, [l1, l2]),
  ];

  // Invites (§R2): the joiner's checks (parse, expiry, signature) before it sends anything.
  const sid = FIXED.sessionIdBytes;
  const exp = Math.floor(FIXED.now / 1000) + 7 * 24 * 3600;
  const inviteId = seq(8, 0x60);
  const sign = (signer: KeyPair, index: number, flags: number, expS: number, iid = inviteId, descriptorId = id) => ed25519Sign(signer.privateKey, inviteInput(descriptorId, iid, expS, index, flags));
  /** The invite fields [3, sid, key, index, flags, exp, id, signature], signed by `signer` (M2 unless said) over the given ones. */
  const iv = (index: number, flags: number, expS: number, signer = k.m2) => [3, sid, signer.publicKey, index, flags, expS, inviteId, sign(signer, index, flags, expS)];
  const inviteRule = (name: string, intended: string, bytes: Uint8Array, now: number) => {
    const text = toBase64Url(bytes);
    let o: RuleOutcome;
    try {
      const i = parseInvite(text);
      checkInviteFresh(i, now);
      if (!inviteSignatureValid(i)) throw new SealsigError('E_AUTH_FAILED', 'invite signature');
      o = { result: 'accepted', session_id: i.sessionId, moderator_key: toHex(i.moderatorKey), chain_index: i.chainIndex, password_required: i.passwordRequired, expires_at_s: i.expiresAt / 1000, invite_id: toHex(i.id) };
    } catch (e) {
      o = ruleCode(e);
    }
    return { name, text, text_chars: text.length, msgpack: toHex(bytes), now_ms: now, expect: check('invites', name, intended, o) };
  };
  const e = (v: unknown[]) => encode(v);
  const edited = (v: unknown[], at: number, x: unknown) => v.map((y, i) => (i === at ? x : y));
  const good = iv(2, 1, exp);
  const invites = [
    inviteRule('fresh: from the current moderator M2 at chain index 2, password, one second before expiry', 'accepted', e(good), exp * 1000 - 1000),
    inviteRule('chain index 16 (the bound), no password', 'accepted', e(iv(16, 0, exp)), FIXED.now),
    inviteRule('expired: now = expires_at', 'E_STALE', e(good), exp * 1000),
    inviteRule('expired a day ago', 'E_STALE', e(good), exp * 1000 + 86_400_000),
    inviteRule('edited: expires_at a day later, re-encoded, signature kept', 'E_AUTH_FAILED', e(edited(good, 5, exp + 86_400)), FIXED.now),
    inviteRule('edited: password flag cleared', 'E_AUTH_FAILED', e(edited(good, 4, 0)), FIXED.now),
    inviteRule('edited: another invite id', 'E_AUTH_FAILED', e(edited(good, 6, seq(8, 0x61))), FIXED.now),
    inviteRule('signed for another room (another descriptor_id)', 'E_AUTH_FAILED', e(edited(good, 7, sign(k.m2, 2, 1, exp, inviteId, fill(16, 7)))), FIXED.now),
    inviteRule('flags 2', 'E_INVALID_ARGUMENT', e(iv(2, 2, exp)), FIXED.now),
    inviteRule('flags 3', 'E_INVALID_ARGUMENT', e(iv(2, 3, exp)), FIXED.now),
    inviteRule('chain index 17', 'E_INVALID_ARGUMENT', e(iv(17, 0, exp)), FIXED.now),
    inviteRule('key of 31 bytes', 'E_INVALID_ARGUMENT', e(edited(good, 2, k.m2.publicKey.subarray(0, 31))), FIXED.now),
    inviteRule('session id of 15 bytes', 'E_INVALID_ARGUMENT', e(edited(good, 1, sid.subarray(0, 15))), FIXED.now),
    inviteRule('session id of 32 bytes (v3 invites carry exactly 16)', 'E_INVALID_ARGUMENT', e(edited(good, 1, seq(32))), FIXED.now),
    inviteRule('invite id of 7 bytes', 'E_INVALID_ARGUMENT', e(edited(good, 6, inviteId.subarray(0, 7))), FIXED.now),
    inviteRule('signature of 63 bytes', 'E_INVALID_ARGUMENT', e(edited(good, 7, (good[7] as Uint8Array).subarray(0, 63))), FIXED.now),
    inviteRule('expires_at as a float', 'E_INVALID_ARGUMENT', e(edited(good, 5, exp + 0.5)), FIXED.now),
    inviteRule('seven elements (no signature)', 'E_INVALID_ARGUMENT', e(good.slice(0, 7)), FIXED.now),
    inviteRule('nine elements', 'E_INVALID_ARGUMENT', e([...good, 0]), FIXED.now),
    inviteRule('a trailing byte after the array', 'E_INVALID_ARGUMENT', Uint8Array.from([...e(good), 0xc0]), FIXED.now),
    inviteRule('chain index not in its shortest form (uint 8)', 'E_INVALID_ARGUMENT', Uint8Array.from([0x98, ...good.slice(0, 3).flatMap((x) => [...encode(x)]), 0xcc, 2, ...good.slice(4).flatMap((x) => [...encode(x)])]), FIXED.now),
    inviteRule('version 2 (the layout before signed invites)', 'E_VERSION', e([2, sid, k.m2.publicKey, 2, 0, exp]), FIXED.now),
    inviteRule('version 1 (the old layout)', 'E_VERSION', e([1, sid, k.m0.publicKey, 0]), FIXED.now),
  ];

  // Grants (§R2, §R3): the moderator's check of the grant a join request carries, before anything else.
  const revokedId = seq(8, 0x88);
  const ctx = { moderator: k.m2.publicKey, chain: [l1, l2], revoked: [{ id: revokedId, expiresAt: exp * 1000 }] };
  const g = (signer: KeyPair, index: number, expS = exp, over: Partial<InviteGrant> = {}): InviteGrant => ({ id: inviteId, expiresAtS: expS, flags: 0, chainIndex: index, signer: signer.publicKey, signature: sign(signer, index, 0, expS), ...over });
  const grantRule = (name: string, intended: string, grant: InviteGrant | null, now: number, signers: InviteSigners = 'chain') => {
    const r = checkGrant(grant, { descriptorId: id, ...ctx, signers, now });
    const o: RuleOutcome = r === undefined ? { result: 'admitted' } : { result: 'refused', code: r.code };
    if ((r?.code ?? 'admitted') !== intended) fail(`rules.grants "${name}": the code gives ${r?.code ?? 'admitted'}, the scenario means ${intended}`);
    return { name, grant: grant === null ? null : hx(encodeGrant(grant)), signers, now_ms: now, expect: o };
  };
  const grants = [
    grantRule('from the moderator M2 at its position 2', 'admitted', g(k.m2, 2), FIXED.now),
    grantRule('from the former moderator M1 at position 1 (signers "chain")', 'admitted', g(k.m1, 1), FIXED.now),
    grantRule('from the creator M0 at position 0: key_0 is the signer of link 1', 'admitted', g(k.m0, 0), FIXED.now),
    grantRule('from M1 at position 1, signers "self": only the moderator\'s own', 'invite-invalid', g(k.m1, 1), FIXED.now, 'self'),
    grantRule('from M2 at position 2, signers "self"', 'admitted', g(k.m2, 2), FIXED.now, 'self'),
    grantRule('one second before expiry', 'admitted', g(k.m2, 2), exp * 1000 - 1000),
    grantRule('expired: now = expires_at', 'invite-expired', g(k.m2, 2), exp * 1000),
    grantRule('expired a day ago', 'invite-expired', g(k.m2, 2), exp * 1000 + 86_400_000),
    grantRule('revoked (its id in the state\'s list)', 'invite-revoked', g(k.m2, 2, exp, { id: revokedId, signature: sign(k.m2, 2, 0, exp, revokedId) }), FIXED.now),
    grantRule('edited: expires_at a day later, signature kept', 'invite-invalid', { ...g(k.m2, 2), expiresAtS: exp + 86_400 }, FIXED.now),
    grantRule('edited: expired, then re-dated to a later expiry', 'invite-invalid', { ...g(k.m2, 2, exp - 86_400), expiresAtS: exp }, FIXED.now),
    grantRule('wrong signer: X (no moderator of the chain) signs as position 1', 'invite-invalid', g(k.x, 1), FIXED.now),
    grantRule('wrong signer: X signs as position 0 (link 1 was not signed by X)', 'invite-invalid', g(k.x, 0), FIXED.now),
    grantRule('M1 claims position 2 (M2\'s)', 'invite-invalid', g(k.m1, 2), FIXED.now),
    grantRule('position 3, beyond the chain', 'invite-invalid', g(k.m2, 3), FIXED.now),
    grantRule('signed for another room (another descriptor_id)', 'invite-invalid', g(k.m2, 2, exp, { signature: sign(k.m2, 2, 0, exp, inviteId, fill(16, 7)) }), FIXED.now),
    grantRule('no grant (nil)', 'invite-invalid', null, FIXED.now),
  ];

  return {
    description:
      'Scenario vectors (§R2, §R5, §R6): a starting point as data, one input, and the outcome every implementation must reach. ' +
      'Keys: M0 created the room; link 1 (l1) hands moderation from M0 to M1 at version 5, epoch 2; link 2 (l2) from M1 to M2 (bob) at version 8, epoch 3; ' +
      'lx is a link M0 signs on the side (to X, at version 6), after it handed moderation over: a fork. ' +
      'changes: the member (self) holds `state` (version 7, epoch 3, moderator M1, chain [l1]) and receives `message` (a change, tag 15) from `sender` ' +
      '(as a core broadcast if `broadcast`). states: the same member receives a whole state (tag 10) over a pairwise channel. ' +
      'expect.result: "applied" (the resulting state as msgpack, and the state-ack version it sends), "ignored" (nothing changes; it acks its own version), ' +
      '"removed" (the result does not list the member: it leaves, with the reason of its ban entry, or null); or expect.error, the error code. ' +
      'announcements: a joiner (after = -1) or a resynchronising member (after = its version) pinned at `pin` hears the moderator broadcasts (tag 6) in order: ' +
      'an announcement counts only if its chain verifies from the pin, ends at its sender, and its first link after the pin was made at a version above `after`; ' +
      'two counted chains neither a prefix of the other are a fork (E_ACCESS_DENIED, reason starting "fork"); otherwise the longest counted chain\'s sender is asked ("moderator"), or nobody ("none"). ' +
      'chains: the end of `chain` (msgpack) verified from `pin`, or null. ' +
      'invites (the joiner, §R2): `text` parsed (E_VERSION, E_INVALID_ARGUMENT), refused if expires_at (Unix s) * 1000 <= `now_ms` (E_STALE), then if its signature does not verify under its own moderator_key (E_AUTH_FAILED). ' +
      'grants (the moderator, §R3): the moderator M2, chain [l1, l2], revoked ids [`revoked_id`, expiring at `revoked_expires_at_s`], checks `grant` (msgpack, §R1) at `now_ms`: ' +
      'refused invite-invalid unless the signer is the key at chain_index (chain_index = len(chain): the moderator itself; with signers "chain" also a former one: the key of link chain_index, or for 0 the key link 1 verifies under) ' +
      'and the signature verifies; then invite-expired if expires_at * 1000 <= now_ms; then invite-revoked if its id is listed; else admitted (to the next step of §R3).',
    descriptor_id: toHex(id),
    keys: Object.fromEntries(Object.entries(RULES_SEEDS).map(([n, seed]) => [n, hexKeyPair(seed, k[n as keyof typeof RULES_SEEDS])])),
    links: { l1: hx(encodeChain([l1])[0]), l2: hx(encodeChain([l2])[0]), lx: hx(encodeChain([lx])[0]) },
    changes: { state: hx(encodeState(s7)), self: toHex(k.self.publicKey), cases: changes },
    states: { state: hx(encodeState(s7)), self: toHex(k.self.publicKey), cases: states },
    announcements,
    chains,
    invites,
    grants: { moderator: toHex(ctx.moderator), chain: hx(encodeChain(ctx.chain)), revoked_id: toHex(revokedId), revoked_expires_at_s: exp, cases: grants },
    desk: deskVectors(),
  };
}
