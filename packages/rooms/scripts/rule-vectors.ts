/**
 * Scenario vectors of the rooms layer (docs/PROTOCOL.md §R2, §R3, §R5, §R6, §R9), the `rules` section of
 * docs/test-vectors/rooms.json: a member's (or a joiner's, or a moderator's) starting point as data, one input
 * and the outcome our code computes; each scenario names the outcome it is meant to show, and the generator
 * fails if the code disagrees.
 */
import { encode } from '@msgpack/msgpack';
import { SealsigError, ed25519KeyPair, ed25519Sign, equalBytes, isSealsigError, toBase64Url, toHex, type KeyPair } from '@sealsig/core';
import { chainEnd, forks, isCertifiedModerator, linkInput } from '../src/chain.js';
import { receiveChange, receiveState } from '../src/commits.js';
import { checkInviteFresh, parseInvite } from '../src/invite.js';
import { checkGrant, inviteInput, inviteSignatureValid, type InviteSigners } from '../src/invite-grant.js';
import { descriptorKeys } from '../src/labels.js';
import { encodeGrant, type InviteGrant } from '../src/wire-grant.js';
import { Tag, encodeChain, encodeState, toWire, type ChainLink, type RoomState, type StateChange } from '../src/wire.js';
import { deskVectors } from './desk-vectors.js';
import { FIXED, fail, fill, hexKeyPair, seq } from './vector-helpers.js';

// --- rules (§R2, §R3, §R5, §R6): scenario vectors ---------------------------------------------------------------
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

export function ruleVectors(): Record<string, unknown> {
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
