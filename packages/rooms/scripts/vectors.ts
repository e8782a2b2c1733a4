/**
 * Deterministic test vectors for the rooms layer (docs/PROTOCOL.md §R1, §R2, §R4, §R6, §R7, §R8, §R9), written to
 * docs/test-vectors/rooms.json (its scenario vectors, `rules`, come from rule-vectors.ts and desk-vectors.ts). Every key, nonce, timestamp and ISK is fixed, so an implementation in another
 * language can reproduce every byte (Ed25519 signatures are deterministic).
 *
 * `pnpm vectors` writes the file; packages/rooms/test/vectors.test.ts regenerates it and fails when it differs
 * from the committed one, then runs each vector through our own code paths.
 */
import { ed25519KeyPair, ed25519Sign, equalBytes, fromBase64Url, toBase64Url, toHex, u32be, u64be, utf8, xchachaOpen, type KeyPair } from '@sealsig/core';
import { encode } from '@msgpack/msgpack';
import { chainEnd, extendChain } from '../src/chain.js';
import { sealDescriptor } from '../src/descriptor.js';
import { putInput, signWriteProof } from '../src/store/proof.js';
import { MAX_CHAIN_INDEX, MAX_EXPIRES_S, MAX_INVITE_CHARS, encodeInvite, type Invite } from '../src/invite.js';
import { grantOf, inviteInput, inviteSignatureValid } from '../src/invite-grant.js';
import { encodeGrant } from '../src/wire-grant.js';
import { RoomLabels, descriptorKeys, lobbyTopicOf, signatureInput } from '../src/labels.js';
import { confirmationsFromIsk, cpaceChannelId, type CpaceEndpoints } from '../src/password.js';
import { calculateGenerator, generatorString, DSI, scalarMult, scalarMultVfy } from '../src/cpace/group.js';
import { iskIr } from '../src/cpace/transcript.js';
import { signPrivilegeRequest, type PrivilegeFields } from '../src/privileges.js';
import { MAX_APP_DATA_BYTES, MAX_CHAIN, MAX_MEMBERS, MAX_NAME_CHARS, MAX_REVOKED, Tag, decodeState, encodeChain, toWire, type ChainLink, type Message, type RoomState } from '../src/wire.js';
import { FIXED, fail, fill, fromHexText, hexKeyPair, json, seq } from './vector-helpers.js';
import { ruleVectors } from './rule-vectors.js';

export { FIXED };

const TAG_NAMES = Object.fromEntries(Object.entries(Tag).map(([name, tag]) => [tag, name])) as Record<number, string>;


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

