/**
 * docs/test-vectors/rooms.json (docs/PROTOCOL.md §R): regenerated and compared (code and spec cannot drift
 * apart), then each vector is run through our own code paths: invite parsing, chain verification, descriptor
 * opening, privilege signature checks, CPace channel id and confirmations, and the message decoders.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealsigError, concatBytes, ed25519KeyPair, ed25519Verify, fromBase64Url, fromHex, isSealsigError, kdf, ready, toBase64Url, toHex, u32be, u64be, utf8 } from '@sealsig/core';
import { decode, encode } from '@msgpack/msgpack';
import { RoomLabels, RoomMessageTag, chainEnd, cpaceChannelId, descriptorKeys, fromWire, lobbyTopicOf, openDescriptor, parseInvite, toWire, type ChainLink } from '../src/index.js';
import { confirmationsFromIsk } from '../src/password.js';
import { verifyPrivilegeRequest, type PrivilegeFields } from '../src/privileges.js';
import { lvCat } from '../src/cpace/strings.js';
import { calculateGenerator, cpaceReady, generatorString, DSI, iskIr, scalarMult, scalarMultVfy } from '../src/cpace/index.js';
import { roomVectors } from '../scripts/vectors.js';
import { runDesk } from '../scripts/desk-vectors.js';
// rules vectors
import { decodeCanonical, equalBytes } from '@sealsig/core';
import { forks, isCertifiedModerator, isPrefix } from '../src/chain.js';
import { receiveChange, receiveState } from '../src/commits.js';
import { checkInviteFresh } from '../src/invite.js';
import { checkGrant, inviteSignatureValid } from '../src/invite-grant.js';
import { decodeChain, decodeState, encodeState, type RoomState } from '../src/wire.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(new URL(`../../../docs/test-vectors/${name}.json`, import.meta.url), 'utf8'));

/** Byte strings as hex, recursively (the form of the vectors' `decoded` fields). */
function hexed(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(hexed);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hexed(x)]));
  return v;
}

const flipBit = (hex: string, byte = 0): Uint8Array => {
  const b = fromHex(hex);
  b[byte]! ^= 0x01;
  return b;
};

const EMPTY = new Uint8Array(0);

beforeAll(async () => {
  await ready();
  await cpaceReady(); // the password vector's CPace run
});

describe('docs/test-vectors/rooms.json', () => {
  it('is exactly what the code generates', () => {
    expect(load('rooms'), 'rooms.json is stale: run pnpm vectors').toEqual(JSON.parse(JSON.stringify(roomVectors())));
  });

  it('keys: descriptor id, key and lobby topic from the session id', () => {
    const v = load('rooms').keys;
    expect(toHex(fromBase64Url(v.session_id)!)).toBe(v.session_id_bytes);
    const sid = fromHex(v.session_id_bytes);
    expect(toHex(kdf(sid, 'sealsig/v2/rooms/descriptor-id', EMPTY, 16))).toBe(v.descriptor_id);
    expect(toHex(kdf(sid, 'sealsig/v2/rooms/descriptor-key', EMPTY, 32))).toBe(v.descriptor_key);
    expect(v.descriptor_write).toBeUndefined(); // no write token any more: writes need the moderator's key (§R7)
    const k = descriptorKeys(v.session_id);
    expect([toHex(k.id), toBase64Url(k.id), toHex(k.key)]).toEqual([v.descriptor_id, v.descriptor_id_base64url, v.descriptor_key]);
    expect(lobbyTopicOf({ sessionId: v.session_id })).toBe(v.lobby_topic);
    // Same session id as core's vectors: the lobby topic is core's topic.
    expect(v.lobby_topic).toBe(load('key-schedule').topic);
  });

  it('invite: parseInvite gives the fields; the text is base64url of the msgpack bytes; the signature verifies over its input; the longest fits', () => {
    const root = load('rooms');
    const v = root.invite;
    expect(toHex(ed25519KeyPair(fromHex(v.moderator.ed25519_seed)).publicKey)).toBe(v.moderator.ed25519_public);
    const id = fromHex(root.keys.descriptor_id);
    for (const c of v.cases) {
      const inv = parseInvite(c.text);
      expect({ sessionId: inv.sessionId, moderatorKey: toHex(inv.moderatorKey), chainIndex: inv.chainIndex, passwordRequired: inv.passwordRequired, expiresAt: inv.expiresAt, id: toHex(inv.id), signature: toHex(inv.signature) }).toEqual({
        sessionId: v.session_id,
        moderatorKey: c.moderator_key,
        chainIndex: c.chain_index,
        passwordRequired: c.password_required,
        expiresAt: c.expires_at_s * 1000,
        id: c.invite_id,
        signature: c.signature,
      });
      expect(toHex(fromBase64Url(c.text)!)).toBe(c.msgpack);
      expect(decode(fromHex(c.msgpack))).toEqual([3, fromBase64Url(v.session_id), fromHex(c.moderator_key), c.chain_index, c.flags, c.expires_at_s, fromHex(c.invite_id), fromHex(c.signature)]);
      const input = concatBytes(utf8('sealsig/v3/rooms/invite'), new Uint8Array(1), id, fromHex(c.invite_id), u64be(c.expires_at_s), u32be(c.chain_index), u32be(c.flags));
      expect(toHex(input)).toBe(c.signed_input);
      expect(ed25519Verify(fromHex(c.moderator_key), input, fromHex(c.signature))).toBe(true);
      expect(inviteSignatureValid(inv)).toBe(true);
      expect(inviteSignatureValid({ ...inv, expiresAt: inv.expiresAt + 1000 }), 'a later expiry breaks the signature').toBe(false);
      expect(c.text.length).toBe(c.text_chars);
      expect(c.text.length).toBeLessThanOrEqual(v.max_chars);
      expect(parseInvite(`https://example.org/room#invite=${c.text}`).passwordRequired).toBe(c.password_required);
    }
    // The longest invite there is: chain index 16, flags 1, the largest expiry, within the 200 characters of §R2.
    const longest = v.cases.at(-1);
    expect([longest.chain_index, longest.flags, longest.expires_at_s]).toEqual([16, 1, Math.floor(Number.MAX_SAFE_INTEGER / 1000)]);
    expect(v.max_chars).toBe(200);
    expect(longest.text_chars).toBe(188);
  });

  it('chain: signed inputs, signatures, chainEnd; one flipped bit anywhere breaks it', () => {
    const v = load('rooms').chain;
    const pin = { key: fromHex(v.pinned), index: 0 };
    const id = fromHex(v.descriptor_id);
    const links: ChainLink[] = v.links.map((l: Json) => ({ key: fromHex(l.next.ed25519_public), version: l.version, epoch: l.epoch, signature: fromHex(l.signature) }));
    for (const l of v.links) {
      expect(toHex(ed25519KeyPair(fromHex(l.next.ed25519_seed)).publicKey)).toBe(l.next.ed25519_public);
      const input = concatBytes(utf8(RoomLabels.transferSignature), new Uint8Array(1), id, u32be(l.index), u64be(l.version), u32be(l.epoch), fromHex(l.next.ed25519_public));
      expect(toHex(input)).toBe(l.signed_input);
      expect(ed25519Verify(fromHex(l.signer_public), input, fromHex(l.signature))).toBe(true);
      expect(decode(fromHex(l.wire))).toEqual([fromHex(l.next.ed25519_public), l.version, l.epoch, fromHex(l.signature)]);
    }
    expect(toHex(chainEnd(links, id, pin)!)).toBe(v.end);
    expect(toHex(chainEnd(links, id, { key: links[0]!.key, index: 1 })!)).toBe(v.end);
    expect(toHex(chainEnd(links.slice(0, 1), id, pin)!)).toBe(v.links[0].next.ed25519_public);
    for (let i = 0; i < links.length; i++) {
      const sig = links.map((l, j) => (j === i ? { ...l, signature: flipBit(v.links[i].signature, 10) } : l));
      expect(chainEnd(sig, id, pin), `signature ${i + 1}`).toBeUndefined();
      const key = links.map((l, j) => (j === i ? { ...l, key: flipBit(v.links[i].next.ed25519_public, 5) } : l));
      expect(chainEnd(key, id, pin), `key ${i + 1}`).toBeUndefined();
      const version = links.map((l, j) => (j === i ? { ...l, version: l.version + 1 } : l));
      expect(chainEnd(version, id, pin), `version ${i + 1}`).toBeUndefined();
      const epoch = links.map((l, j) => (j === i ? { ...l, epoch: l.epoch + 1 } : l));
      expect(chainEnd(epoch, id, pin), `epoch ${i + 1}`).toBeUndefined();
    }
    expect(chainEnd(links, id, { key: flipBit(v.pinned, 0), index: 0 })).toBeUndefined();
    expect(chainEnd(links, flipBit(v.descriptor_id, 0), pin)).toBeUndefined();
    expect(chainEnd([links[1]!, links[0]!], id, pin)).toBeUndefined();
    expect(chainEnd(links, id, { key: fromHex(v.pinned), index: 1 }), 'a pin must name the key at its index').toBeUndefined();
  });

  it('descriptor: opens with the invite before expires_at, E_STALE at it; tampering fails', () => {
    const root = load('rooms');
    const v = root.descriptor;
    const invite = parseInvite(v.invite);
    const sealed = fromHex(v.sealed);
    expect(toHex(sealed.subarray(0, 24))).toBe(v.nonce);
    expect(v.id).toBe(root.keys.descriptor_id_base64url);
    expect(decode(fromHex(v.content))).toEqual([2, v.title, fromHex(v.moderator_key), 1, v.expires_at_ms, [], v.serial]);
    const signedInput = concatBytes(utf8(RoomLabels.descriptorSignature), new Uint8Array(1), fromHex(root.keys.descriptor_id), fromHex(v.content));
    expect(toHex(signedInput)).toBe(v.signed_input);
    expect(ed25519Verify(fromHex(v.moderator_key), signedInput, fromHex(v.signature))).toBe(true);
    const d = openDescriptor(invite, sealed, v.expires_at_ms - 1);
    expect({ ...d, moderatorKey: toHex(d.moderatorKey) }).toEqual({ title: v.title, moderatorKey: v.moderator_key, passwordRequired: v.password_required, expiresAt: v.expires_at_ms, serial: v.serial, live: true });
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return isSealsigError(e) ? e.code : String(e);
      }
    };
    expect(code(() => openDescriptor(invite, sealed, v.expires_at_ms))).toBe('E_STALE');
    expect(code(() => openDescriptor(invite, flipBit(v.sealed, sealed.length - 1)))).toBe('E_AUTH_FAILED');
    expect(code(() => openDescriptor(invite, flipBit(v.sealed, 3)))).toBe('E_AUTH_FAILED');
    const other = parseInvite(root.invite.cases[1].text); // same session, no password: still opens (flags come from the content)
    expect(openDescriptor(other, sealed, v.expires_at_ms - 1).passwordRequired).toBe(true);
  });

  it('privilege: signed input, verifyPrivilegeRequest accepts it and rejects a flipped signature, message bytes', () => {
    const v = load('rooms').privilege;
    const requester = ed25519KeyPair(fromHex(v.requester.ed25519_seed));
    expect(toHex(requester.publicKey)).toBe(v.requester.ed25519_public);
    expect(toHex(ed25519KeyPair(fromHex(v.owner.ed25519_seed)).publicKey)).toBe(v.owner_key);
    expect(lobbyTopicOf({ sessionId: v.room_session_id })).toBe(v.room_topic);
    const f: PrivilegeFields = { roomTopic: v.room_topic, ownerKey: fromHex(v.owner_key), action: v.action, streamId: v.stream_id, nonce: fromHex(v.nonce), timestamp: v.timestamp_ms };
    const input = concatBytes(utf8(RoomLabels.privilegeSignature), new Uint8Array(1), encode([f.roomTopic, f.ownerKey, f.action, f.streamId, f.nonce, f.timestamp]));
    expect(toHex(input)).toBe(v.signed_input);
    expect(ed25519Verify(requester.publicKey, input, fromHex(v.signature))).toBe(true);
    expect(verifyPrivilegeRequest(requester.publicKey, f, fromHex(v.signature))).toBe(true);
    expect(verifyPrivilegeRequest(requester.publicKey, f, flipBit(v.signature, 7))).toBe(false);
    expect(verifyPrivilegeRequest(requester.publicKey, { ...f, action: 'stop' }, fromHex(v.signature))).toBe(false);
    expect(verifyPrivilegeRequest(requester.publicKey, { ...f, timestamp: f.timestamp + 1 }, fromHex(v.signature))).toBe(false);
    expect(verifyPrivilegeRequest(fromHex(v.owner_key), f, fromHex(v.signature))).toBe(false);
    expect(hexed(fromWire(decode(fromHex(v.message))))).toEqual({ tag: 13, nonce: v.nonce, action: v.action, streamId: v.stream_id, timestamp: v.timestamp_ms, signature: v.signature });
  });

  it('password: CPace channel id and the two confirmations', () => {
    const v = load('rooms').password;
    const c = v.channel;
    const endpoints = { lobbyTopic: c.lobby_topic, joinerId: c.joiner_id, joinerInstance: c.joiner_instance, moderatorId: c.moderator_id, moderatorInstance: c.moderator_instance };
    expect(toHex(cpaceChannelId(endpoints))).toBe(c.channel_id);
    const lv = lvCat(...['sealsig/v2/rooms/cpace', c.lobby_topic, c.joiner_id, c.joiner_instance, c.moderator_id, c.moderator_instance].map(utf8));
    expect(toHex(lv)).toBe(c.channel_id);
    const isk = fromHex(v.isk);
    expect(toHex(kdf(isk, 'sealsig/v2/rooms/confirm-moderator', EMPTY, 32))).toBe(v.confirm_moderator);
    expect(toHex(kdf(isk, 'sealsig/v2/rooms/confirm-joiner', EMPTY, 32))).toBe(v.confirm_joiner);
    const conf = confirmationsFromIsk(isk.slice());
    expect([toHex(conf.moderator), toHex(conf.joiner)]).toEqual([v.confirm_moderator, v.confirm_joiner]);
  });

  it('password: a complete CPace run, every intermediate value through our CPace code', () => {
    const r = load('rooms').password.run;
    const prs = utf8(r.password.normalize('NFC'));
    expect(toHex(prs)).toBe(r.prs);
    expect(r.ci).toBe(load('rooms').password.channel.channel_id);
    const [ci, sid] = [fromHex(r.ci), fromHex(r.sid)];
    expect(toHex(DSI)).toBe(r.dsi);
    expect(toHex(generatorString(DSI, prs, ci, sid))).toBe(r.generator_string);
    const g = calculateGenerator(prs, ci, sid);
    expect(toHex(g)).toBe(r.g);
    const Ya = scalarMult(fromHex(r.ya), g);
    const Yb = scalarMult(fromHex(r.yb), g);
    expect([toHex(Ya), toHex(Yb)]).toEqual([r.Ya, r.Yb]);
    // Each side from its own scalar and the other's share.
    const kJoiner = scalarMultVfy(fromHex(r.ya), Yb);
    const kModerator = scalarMultVfy(fromHex(r.yb), Ya);
    expect([toHex(kJoiner), toHex(kModerator)]).toEqual([r.K, r.K]);
    const isk = iskIr(sid, kJoiner, Ya, new Uint8Array(0), Yb, new Uint8Array(0));
    expect(toHex(isk)).toBe(r.isk);
    const conf = confirmationsFromIsk(isk);
    expect([toHex(conf.moderator), toHex(conf.joiner)]).toEqual([r.confirm_moderator, r.confirm_joiner]);
    // A wrong password gives another generator, so other confirmations.
    const wrong = calculateGenerator(utf8('correct horse battery stapler'), ci, sid);
    expect(toHex(wrong)).not.toBe(r.g);
  });

  it('messages: every tag decodes to the expected fields and re-encodes to the same bytes', () => {
    const v = load('rooms').messages;
    expect(new Set(v.cases.map((c: Json) => c.tag))).toEqual(new Set(Object.values(RoomMessageTag))); // every tag has a case
    expect(new Set(v.cases.map((c: Json) => c.bytes)).size).toBe(v.cases.length);
    for (const c of v.cases) {
      const m = fromWire(decode(fromHex(c.bytes)));
      expect(hexed(m), c.name).toEqual(c.decoded);
      expect(toHex(encode(toWire(m))), c.name).toBe(c.bytes);
    }
  });

  it('messages: each negative case is E_FRAME_MALFORMED', () => {
    const v = load('rooms').messages;
    expect(v.negative.length).toBeGreaterThan(0);
    for (const c of v.negative) {
      let got = 'accepted';
      try {
        fromWire(decode(fromHex(c.bytes)));
      } catch (e) {
        got = isSealsigError(e) ? e.code : `not a SealsigError: ${String(e)}`;
      }
      expect(got, c.name).toBe(c.expect);
    }
  });

  // --- rules: every scenario through our code, from the JSON alone ----------------------------------------

  /** The outcome, in the vectors' form, of what a member holding `own` computes (`next`, or a thrown error). */
  const ruleOutcome = (own: RoomState, self: Uint8Array, run: () => RoomState | undefined): Json => {
    let next: RoomState | undefined;
    try {
      next = run();
    } catch (e) {
      if (!isSealsigError(e)) throw e;
      return { error: e.code };
    }
    if (next === undefined) return { result: 'ignored', ack: own.version };
    if (!next.members.some((m) => equalBytes(m.key, self))) return { result: 'removed', reason: next.banned.find((b) => equalBytes(b.key, self))?.reason ?? null };
    return { result: 'applied', ack: next.version, version: next.version, epoch: next.epoch, moderator: toHex(next.moderator), members: next.members.map((m) => m.name), state: toHex(encode(encodeState(next))) };
  };
  const codeOf = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return isSealsigError(e) ? e.code : `not a SealsigError: ${String(e)}`;
    }
  };

  it('rules.changes: each change, applied to the member state through receiveChange, gives the expected outcome', () => {
    const r = load('rooms').rules;
    const id = fromHex(r.descriptor_id);
    const own = decodeState(decodeCanonical(fromHex(r.changes.state)));
    const self = fromHex(r.changes.self);
    const seen = new Set<string>();
    for (const c of r.changes.cases) {
      const m = fromWire(decodeCanonical(fromHex(c.message)));
      if (m.tag !== RoomMessageTag.change) throw new Error(`${c.name}: not a change`);
      const got = ruleOutcome(own, self, () => receiveChange(own, m.change, fromHex(c.sender), c.broadcast, id));
      expect(got, c.name).toEqual(c.expect);
      seen.add(c.expect.error ?? c.expect.result);
      if (c.expect.result === 'applied') expect(toHex(encode(encodeState(decodeState(decodeCanonical(fromHex(c.expect.state)))))), c.name).toBe(c.expect.state);
    }
    expect([...seen].sort()).toEqual(['E_ACCESS_DENIED', 'E_AUTH_FAILED', 'E_FRAME_MALFORMED', 'applied', 'ignored', 'removed']);
  });

  it('rules.states: each whole state, received through receiveState, gives the expected outcome; stale links refused', () => {
    const r = load('rooms').rules;
    const id = fromHex(r.descriptor_id);
    const own = decodeState(decodeCanonical(fromHex(r.states.state)));
    const self = fromHex(r.states.self);
    for (const c of r.states.cases) {
      const m = fromWire(decodeCanonical(fromHex(c.message)));
      if (m.tag !== RoomMessageTag.state) throw new Error(`${c.name}: not a state`);
      expect(ruleOutcome(own, self, () => receiveState(own, m.state, fromHex(c.sender), id)), c.name).toEqual(c.expect);
    }
    expect(r.states.cases.filter((c: Json) => c.name.startsWith('a stale transfer link')).map((c: Json) => c.expect.error)).toEqual(['E_ACCESS_DENIED', 'E_ACCESS_DENIED']);
  });

  it('rules.announcements: certified chains from the pin, forks refused (E_ACCESS_DENIED "fork"), the longest chain asked', () => {
    const r = load('rooms').rules;
    const id = fromHex(r.descriptor_id);
    for (const c of r.announcements) {
      const pin = { key: fromHex(c.pin.key), index: c.pin.index };
      const counted: ChainLink[][] = [];
      let chosen: { key: string; length: number } | undefined;
      let got: Json;
      for (const h of c.heard) {
        const m = fromWire(decodeCanonical(fromHex(h.message)));
        if (m.tag !== RoomMessageTag.moderator) throw new Error(`${c.name}: not an announcement`);
        if (!isCertifiedModerator(fromHex(h.sender), m.chain, id, pin, c.after)) continue;
        if (counted.some((x) => forks(x, m.chain))) {
          got = { error: 'E_ACCESS_DENIED', reason_prefix: 'fork' };
          break;
        }
        counted.push(m.chain);
        if (chosen === undefined || m.chain.length > chosen.length) chosen = { key: h.sender, length: m.chain.length };
      }
      got ??= chosen === undefined ? { result: 'none' } : { result: 'moderator', moderator: chosen.key, chain_length: chosen.length };
      expect(got, c.name).toEqual(c.expect);
    }
    // forks is exactly "neither a prefix of the other".
    const l = (name: 'l1' | 'l2' | 'lx') => decodeChain([decodeCanonical(fromHex(r.links[name]))])[0]!;
    expect([forks([l('l1')], [l('l1'), l('l2')]), forks([], [l('lx')]), forks([l('l1'), l('l2')], [l('lx')])]).toEqual([false, false, true]);
    expect(isPrefix([l('l1')], [l('l1'), l('l2')]) && !isPrefix([l('lx')], [l('l1'), l('l2')])).toBe(true);
  });

  it('rules.chains: chainEnd from the pin (versions strictly increase)', () => {
    const r = load('rooms').rules;
    const id = fromHex(r.descriptor_id);
    for (const c of r.chains) {
      const end = chainEnd(decodeChain(decodeCanonical(fromHex(c.chain))), id, { key: fromHex(c.pin.key), index: c.pin.index });
      expect({ result: 'end', end: end === undefined ? null : toHex(end) }, c.name).toEqual(c.expect);
    }
  });

  it('rules.invites: parseInvite, checkInviteFresh at `now_ms`, then the signature: fields, E_STALE, E_AUTH_FAILED, E_INVALID_ARGUMENT, E_VERSION', () => {
    const r = load('rooms').rules;
    const codes = new Set<string>();
    for (const c of r.invites) {
      expect(toHex(fromBase64Url(c.text)!), c.name).toBe(c.msgpack);
      let got: Json;
      const code = codeOf(() => {
        const i = parseInvite(c.text);
        checkInviteFresh(i, c.now_ms);
        if (!inviteSignatureValid(i)) throw new SealsigError('E_AUTH_FAILED', 'signature');
        got = { result: 'accepted', session_id: i.sessionId, moderator_key: toHex(i.moderatorKey), chain_index: i.chainIndex, password_required: i.passwordRequired, expires_at_s: i.expiresAt / 1000, invite_id: toHex(i.id) };
      });
      expect(code === 'ok' ? got : { error: code }, c.name).toEqual(c.expect);
      codes.add(c.expect.error ?? c.expect.result);
    }
    expect([...codes].sort()).toEqual(['E_AUTH_FAILED', 'E_INVALID_ARGUMENT', 'E_STALE', 'E_VERSION', 'accepted']);
  });

  it('rules.desk: each scenario through the reference pool gives its outcomes; quotas, sweeps and tombstones as §R3 says', () => {
    const d = load('rooms').rules.desk;
    expect(d.limits).toEqual({ max_pending: 64, max_pending_per_invite: 8, idle_ms: 10_000, keep_decided_ms: 150_000, max_tombstones: 1024 });
    for (const s of d.scenarios) expect(runDesk(s.events), s.name).toEqual(s.outcomes);
    const [quota, pool, idle, tombstone, replace] = d.scenarios.map((s: Json) => s.outcomes);
    expect(quota).toEqual([...Array(8).fill('pending'), 'busy', 'pending', 'pending']);
    expect(pool.slice(64)).toEqual(['busy', 'pending']);
    expect(idle.slice(8)).toEqual(['busy', 'swept: 0', 'swept: 8', 'pending', 'refreshed', 'swept: 0', 'swept: 1']);
    expect(tombstone.slice(8)).toEqual(['decided', 'pending', 'stored', 'pending']);
    expect(replace).toEqual(['pending', 'pending', 'pending']);
  });

  it('rules.grants: checkGrant against the moderator M2 (chain [l1, l2], one revoked id): admitted, invite-invalid, invite-expired, invite-revoked', () => {
    const r = load('rooms').rules;
    const g = r.grants;
    const ctx = { descriptorId: fromHex(r.descriptor_id), moderator: fromHex(g.moderator), chain: decodeChain(decodeCanonical(fromHex(g.chain))), revoked: [{ id: fromHex(g.revoked_id), expiresAt: g.revoked_expires_at_s * 1000 }] };
    const seen = new Set<string>();
    for (const c of g.cases) {
      // The grant as a join request carries it (§R1): decoded by the same decoder.
      const grant = c.grant === null ? null : (fromWire([RoomMessageTag.joinRequest, new Uint8Array(16), '', null, null, decodeCanonical(fromHex(c.grant))]) as Json).grant;
      const refusal = checkGrant(grant, { ...ctx, signers: c.signers, now: c.now_ms });
      expect(refusal === undefined ? { result: 'admitted' } : { result: 'refused', code: refusal.code }, c.name).toEqual(c.expect);
      seen.add(c.expect.code ?? c.expect.result);
    }
    expect([...seen].sort()).toEqual(['admitted', 'invite-expired', 'invite-invalid', 'invite-revoked']);
  });
});
