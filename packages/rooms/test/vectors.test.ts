/**
 * docs/test-vectors/rooms.json (docs/PROTOCOL.md §R): regenerated and compared (code and spec cannot drift
 * apart), then each vector is run through our own code paths: invite parsing, chain verification, descriptor
 * opening, privilege signature checks, CPace channel id and confirmations, and the message decoders.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, ed25519KeyPair, ed25519Verify, fromBase64Url, fromHex, isSealsigError, kdf, ready, toBase64Url, toHex, u32be, utf8 } from '@sealsig/core';
import { decode, encode } from '@msgpack/msgpack';
import { RoomLabels, chainEnd, cpaceChannelId, descriptorKeys, fromWire, lobbyTopicOf, openDescriptor, parseInvite, toWire, type ChainLink } from '../src/index.js';
import { confirmationsFromIsk } from '../src/password.js';
import { verifyPrivilegeRequest, type PrivilegeFields } from '../src/privileges.js';
import { lvCat } from '../src/cpace/strings.js';
import { calculateGenerator, cpaceReady, generatorString, DSI, iskIr, scalarMult, scalarMultVfy } from '../src/cpace/index.js';
import { roomVectors } from '../scripts/vectors.js';

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

  it('keys: descriptor id, key, write token and lobby topic from the session id', () => {
    const v = load('rooms').keys;
    expect(toHex(fromBase64Url(v.session_id)!)).toBe(v.session_id_bytes);
    const sid = fromHex(v.session_id_bytes);
    expect(toHex(kdf(sid, 'sealsig/v1/rooms/descriptor-id', EMPTY, 16))).toBe(v.descriptor_id);
    expect(toHex(kdf(sid, 'sealsig/v1/rooms/descriptor-key', EMPTY, 32))).toBe(v.descriptor_key);
    expect(toHex(kdf(sid, 'sealsig/v1/rooms/descriptor-write', EMPTY, 32))).toBe(v.descriptor_write);
    const k = descriptorKeys(v.session_id);
    expect([toHex(k.id), toBase64Url(k.id), toHex(k.key), toHex(k.writeToken)]).toEqual([v.descriptor_id, v.descriptor_id_base64url, v.descriptor_key, v.descriptor_write]);
    expect(lobbyTopicOf({ sessionId: v.session_id })).toBe(v.lobby_topic);
    // Same session id as core's vectors: the lobby topic is core's topic.
    expect(v.lobby_topic).toBe(load('key-schedule').topic);
  });

  it('invite: parseInvite gives the fields; the text is base64url of the msgpack bytes', () => {
    const v = load('rooms').invite;
    expect(toHex(ed25519KeyPair(fromHex(v.moderator.ed25519_seed)).publicKey)).toBe(v.moderator.ed25519_public);
    for (const c of v.cases) {
      const inv = parseInvite(c.text);
      expect({ sessionId: inv.sessionId, moderatorKey: toHex(inv.moderatorKey), passwordRequired: inv.passwordRequired }).toEqual({
        sessionId: v.session_id,
        moderatorKey: v.moderator.ed25519_public,
        passwordRequired: c.password_required,
      });
      expect(toHex(fromBase64Url(c.text)!)).toBe(c.msgpack);
      expect(decode(fromHex(c.msgpack))).toEqual([1, fromBase64Url(v.session_id), fromHex(v.moderator.ed25519_public), c.flags]);
      expect(parseInvite(`https://example.org/room#invite=${c.text}`).passwordRequired).toBe(c.password_required);
    }
  });

  it('chain: signed inputs, signatures, chainEnd; one flipped bit anywhere breaks it', () => {
    const v = load('rooms').chain;
    const pinned = fromHex(v.pinned);
    const links: ChainLink[] = v.links.map((l: Json) => ({ key: fromHex(l.next.ed25519_public), signature: fromHex(l.signature) }));
    for (const l of v.links) {
      expect(toHex(ed25519KeyPair(fromHex(l.next.ed25519_seed)).publicKey)).toBe(l.next.ed25519_public);
      const input = concatBytes(utf8(RoomLabels.transferSignature), new Uint8Array(1), utf8(v.lobby_topic), u32be(l.index), fromHex(l.next.ed25519_public));
      expect(toHex(input)).toBe(l.signed_input);
      expect(ed25519Verify(fromHex(l.signer_public), input, fromHex(l.signature))).toBe(true);
    }
    expect(toHex(chainEnd(links, v.lobby_topic, pinned)!)).toBe(v.end);
    expect(toHex(chainEnd(links.slice(0, 1), v.lobby_topic, pinned)!)).toBe(v.links[0].next.ed25519_public);
    for (let i = 0; i < links.length; i++) {
      const sig = links.map((l, j) => (j === i ? { ...l, signature: flipBit(v.links[i].signature, 10) } : l));
      expect(chainEnd(sig, v.lobby_topic, pinned), `signature ${i + 1}`).toBeUndefined();
      const key = links.map((l, j) => (j === i ? { ...l, key: flipBit(v.links[i].next.ed25519_public, 5) } : l));
      expect(chainEnd(key, v.lobby_topic, pinned), `key ${i + 1}`).toBeUndefined();
    }
    expect(chainEnd(links, v.lobby_topic, flipBit(v.pinned, 0))).toBeUndefined();
    expect(chainEnd(links, `${v.lobby_topic}x`, pinned)).toBeUndefined();
    expect(chainEnd([links[1]!, links[0]!], v.lobby_topic, pinned)).toBeUndefined();
  });

  it('descriptor: opens with the invite; live before expires_at, not at it; tampering fails', () => {
    const root = load('rooms');
    const v = root.descriptor;
    const invite = parseInvite(v.invite);
    const sealed = fromHex(v.sealed);
    expect(toHex(sealed.subarray(0, 24))).toBe(v.nonce);
    expect(v.id).toBe(root.keys.descriptor_id_base64url);
    expect(decode(fromHex(v.content))).toEqual([1, v.title, fromHex(v.moderator_key), 1, v.expires_at, []]);
    const signedInput = concatBytes(utf8(RoomLabels.descriptorSignature), new Uint8Array(1), fromHex(root.keys.descriptor_id), fromHex(v.content));
    expect(toHex(signedInput)).toBe(v.signed_input);
    expect(ed25519Verify(fromHex(v.moderator_key), signedInput, fromHex(v.signature))).toBe(true);
    const d = openDescriptor(invite, sealed, v.expires_at - 1);
    expect({ ...d, moderatorKey: toHex(d.moderatorKey) }).toEqual({ title: v.title, moderatorKey: v.moderator_key, passwordRequired: v.password_required, expiresAt: v.expires_at, live: true });
    expect(openDescriptor(invite, sealed, v.expires_at).live).toBe(false);
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return isSealsigError(e) ? e.code : String(e);
      }
    };
    expect(code(() => openDescriptor(invite, flipBit(v.sealed, sealed.length - 1)))).toBe('E_AUTH_FAILED');
    expect(code(() => openDescriptor(invite, flipBit(v.sealed, 3)))).toBe('E_AUTH_FAILED');
    const other = parseInvite(root.invite.cases[1].text); // same session, no password: still opens (flags come from the content)
    expect(openDescriptor(other, sealed, v.expires_at - 1).passwordRequired).toBe(true);
  });

  it('privilege: signed input, verifyPrivilegeRequest accepts it and rejects a flipped signature, message bytes', () => {
    const v = load('rooms').privilege;
    const requester = ed25519KeyPair(fromHex(v.requester.ed25519_seed));
    expect(toHex(requester.publicKey)).toBe(v.requester.ed25519_public);
    expect(toHex(ed25519KeyPair(fromHex(v.owner.ed25519_seed)).publicKey)).toBe(v.owner_key);
    expect(lobbyTopicOf({ sessionId: v.room_session_id })).toBe(v.room_topic);
    const f: PrivilegeFields = { roomTopic: v.room_topic, ownerKey: fromHex(v.owner_key), action: v.action, streamId: v.stream_id, nonce: fromHex(v.nonce), timestamp: v.timestamp };
    const input = concatBytes(utf8(RoomLabels.privilegeSignature), new Uint8Array(1), encode([f.roomTopic, f.ownerKey, f.action, f.streamId, f.nonce, f.timestamp]));
    expect(toHex(input)).toBe(v.signed_input);
    expect(ed25519Verify(requester.publicKey, input, fromHex(v.signature))).toBe(true);
    expect(verifyPrivilegeRequest(requester.publicKey, f, fromHex(v.signature))).toBe(true);
    expect(verifyPrivilegeRequest(requester.publicKey, f, flipBit(v.signature, 7))).toBe(false);
    expect(verifyPrivilegeRequest(requester.publicKey, { ...f, action: 'stop' }, fromHex(v.signature))).toBe(false);
    expect(verifyPrivilegeRequest(requester.publicKey, { ...f, timestamp: f.timestamp + 1 }, fromHex(v.signature))).toBe(false);
    expect(verifyPrivilegeRequest(fromHex(v.owner_key), f, fromHex(v.signature))).toBe(false);
    expect(hexed(fromWire(decode(fromHex(v.message))))).toEqual({ tag: 13, nonce: v.nonce, action: v.action, streamId: v.stream_id, timestamp: v.timestamp, signature: v.signature });
  });

  it('password: CPace channel id and the two confirmations', () => {
    const v = load('rooms').password;
    const c = v.channel;
    const endpoints = { lobbyTopic: c.lobby_topic, joinerId: c.joiner_id, joinerInstance: c.joiner_instance, moderatorId: c.moderator_id, moderatorInstance: c.moderator_instance };
    expect(toHex(cpaceChannelId(endpoints))).toBe(c.channel_id);
    const lv = lvCat(...['sealsig/v1/rooms/cpace', c.lobby_topic, c.joiner_id, c.joiner_instance, c.moderator_id, c.moderator_instance].map(utf8));
    expect(toHex(lv)).toBe(c.channel_id);
    const isk = fromHex(v.isk);
    expect(toHex(kdf(isk, 'sealsig/v1/rooms/confirm-moderator', EMPTY, 32))).toBe(v.confirm_moderator);
    expect(toHex(kdf(isk, 'sealsig/v1/rooms/confirm-joiner', EMPTY, 32))).toBe(v.confirm_joiner);
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
    expect(new Set(v.cases.map((c: Json) => c.tag)).size).toBe(v.cases.length);
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
});
