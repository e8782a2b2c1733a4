/**
 * The rooms layer's messages (docs/PROTOCOL.md §R1). They travel as the payload of core's app messages:
 * direct messages over a pairwise channel (Noise KKpsk0, so sender-authenticated and replay-protected by
 * core) or, for APP and MODERATOR only, broadcasts. Each is a msgpack array whose first element is its tag.
 * The decoders check every field's type and bound before anything uses it; failures are E_FRAME_MALFORMED.
 */
import { SealsigError, decodeCanonical, encodeCanonical } from '@sealsig/core';
import { decodeGrant, decodeRevoked, encodeGrant, encodeRevoked, type InviteGrant, type RevokedInvite } from './wire-grant.js';

export type { InviteGrant, RevokedInvite };

/** The tags of room messages (§R1), their first element. */
export const Tag = {
  /** App data (Room.send, Room.broadcast). */
  app: 0,
  /** A joiner asks to join. */
  joinRequest: 1,
  /** The moderator's CPace share and key confirmation (password rooms). */
  joinChallenge: 2,
  /** The joiner's key confirmation. */
  joinConfirm: 3,
  /** The moderator admits the joiner, with the room state. */
  joinAccepted: 4,
  /** The moderator refuses the joiner. */
  joinRejected: 5,
  /** A moderator announcement (broadcast). */
  moderator: 6,
  /** The full room state (§R5). */
  state: 10,
  /** A member acknowledges a state version. */
  stateAck: 11,
  /** A member is told it was kicked. */
  kicked: 12,
  /** A request to stop or mute a stream. */
  privilegeRequest: 13,
  /** The owner's answer to a privilege request. */
  privilegeResponse: 14,
  /** A state change (§R5). */
  change: 15,
} as const;

export const NONCE_BYTES = 16;
export const MAX_NAME_CHARS = 64;
export const MAX_REASON_CHARS = 200;
export const MAX_APP_DATA_BYTES = 1024;
export const MAX_STREAM_ID_CHARS = 256;
export const MAX_MEMBERS = 256;
export const MAX_CHAIN = 16;
export const MAX_BANNED = 256;
export const MAX_ICE_SERVERS = 8;
/** Revoked invites a state holds (§R5.1). */
export const MAX_REVOKED = 64;

/**
 * Why a join was refused (§R1, §R3). The `invite-` codes (protocol v3) refuse the invite the request carries:
 * expired (`invite-expired`), revoked (`invite-revoked`), or not signed by a moderator the desk accepts, or
 * whose signature does not verify (`invite-invalid`).
 */
export type RejectCode = 'rejected' | 'wrong-password' | 'rate-limited' | 'busy' | 'timeout' | 'invite-expired' | 'invite-revoked' | 'invite-invalid';
const REJECT_CODES: readonly string[] = ['rejected', 'wrong-password', 'rate-limited', 'busy', 'timeout', 'invite-expired', 'invite-revoked', 'invite-invalid'];
/** What a privilege request asks of a stream. */
export type PrivilegeAction = 'stop' | 'mute';

/** RTCIceServer (W3C WebRTC §4.2.1), the fields sealsig carries. */
export interface IceServer {
  /** STUN or TURN URLs. */
  urls: string | string[];
  /** TURN user name. */
  username?: string;
  /** TURN credential. */
  credential?: string;
}

/** One certificate of the moderator chain (§R6): `key` signed by the previous moderator key, at state `version` and `epoch`. */
export interface ChainLink {
  /** The certified moderator key. */
  key: Uint8Array;
  /** State version at the transfer. */
  version: number;
  /** Epoch at the transfer. */
  epoch: number;
  /** Signature by the previous moderator key. */
  signature: Uint8Array;
}

/**
 * §R5 One commit as a difference from the state before it (version - 1): what a member already in the room
 * reads. `roomKey` is set exactly when the epoch changes, and then the change travels only pairwise.
 */
export interface StateChange {
  version: number;
  epoch: number;
  roomKey: Uint8Array | null;
  /** A transfer: the link appended to the chain; its key is the new moderator. */
  link: ChainLink | null;
  add: { key: Uint8Array; name: string }[];
  remove: Uint8Array[];
  ban: { key: Uint8Array; reason: string }[];
  /** The new ICE server list, or null when unchanged. */
  iceServers: IceServer[] | null;
  /** The new list of revoked invites (whole, §R5.1), or null when unchanged. */
  revoked: RevokedInvite[] | null;
}

/** §R5 The room state the moderator hands members; the room key in it is secret. */
export interface RoomState {
  /** Increases with every commit. */
  version: number;
  /** The current epoch. */
  epoch: number;
  /** The epoch's room key (secret). */
  roomKey: Uint8Array;
  /** The moderator's Ed25519 public key. */
  moderator: Uint8Array;
  /** The admitted members. */
  members: {
    /** The member's Ed25519 public key. */
    key: Uint8Array;
    /** Its display name. */
    name: string;
  }[];
  /** ICE servers handed to members. */
  iceServers: IceServer[];
  /** The moderator chain (§R6). */
  chain: ChainLink[];
  /**
   * Ed25519 keys kicked from the room (newest last, at most MAX_BANNED), each with the moderator's reason:
   * refused if they ask again, and told why (a kicked member that missed its notice learns it so).
   */
  banned: {
    /** The Ed25519 public key kicked. */
    key: Uint8Array;
    /** The moderator's reason. */
    reason: string;
  }[];
  /** Invites the moderator revoked that have not expired (at most MAX_REVOKED, §R5.1): refused by whoever moderates. */
  revoked: RevokedInvite[];
}

export type Message =
  | { tag: typeof Tag.app; value: unknown }
  | { tag: typeof Tag.joinRequest; nonce: Uint8Array; name: string; appData: unknown; share: Uint8Array | null; grant: InviteGrant | null }
  | { tag: typeof Tag.joinChallenge; nonce: Uint8Array; share: Uint8Array; confirm: Uint8Array }
  | { tag: typeof Tag.joinConfirm; nonce: Uint8Array; confirm: Uint8Array }
  | { tag: typeof Tag.joinAccepted; nonce: Uint8Array; roomSessionId: string; state: RoomState }
  | { tag: typeof Tag.joinRejected; nonce: Uint8Array; code: RejectCode; reason: string }
  | { tag: typeof Tag.moderator; chain: ChainLink[] }
  | { tag: typeof Tag.state; state: RoomState }
  | { tag: typeof Tag.stateAck; version: number }
  | { tag: typeof Tag.kicked; reason: string }
  | { tag: typeof Tag.privilegeRequest; nonce: Uint8Array; action: PrivilegeAction; streamId: string; timestamp: number; signature: Uint8Array }
  | { tag: typeof Tag.privilegeResponse; nonce: Uint8Array; granted: boolean }
  | { tag: typeof Tag.change; change: StateChange };

// --- encoding ---------------------------------------------------------------------------------------

export function encodeState(s: RoomState): unknown[] {
  return [
    s.version,
    s.epoch,
    s.roomKey,
    s.moderator,
    s.members.map((m) => [m.key, m.name]),
    s.iceServers.map(iceToWire),
    encodeChain(s.chain),
    s.banned.map((b) => [b.key, b.reason]),
    s.revoked.map(encodeRevoked),
  ];
}

function linkToWire(l: ChainLink): unknown[] {
  return [l.key, l.version, l.epoch, l.signature];
}

/** §R6 A chain as it travels: `[[key, version, epoch, signature], ...]`. */
export function encodeChain(chain: ChainLink[]): unknown[] {
  return chain.map(linkToWire);
}

export function encodeChange(c: StateChange): unknown[] {
  return [
    c.version,
    c.epoch,
    c.roomKey,
    c.link === null ? null : linkToWire(c.link),
    c.add.map((m) => [m.key, m.name]),
    c.remove,
    c.ban.map((b) => [b.key, b.reason]),
    c.iceServers === null ? null : c.iceServers.map(iceToWire),
    c.revoked === null ? null : c.revoked.map(encodeRevoked),
  ];
}

function iceToWire(s: IceServer): unknown[] {
  return [s.urls, s.username ?? null, s.credential ?? null];
}

/** The wire form (a msgpack-able array) of a message. */
export function toWire(m: Message): unknown[] {
  switch (m.tag) {
    case Tag.app:
      return [m.tag, m.value];
    case Tag.joinRequest:
      return [m.tag, m.nonce, m.name, m.appData, m.share, m.grant === null ? null : encodeGrant(m.grant)];
    case Tag.joinChallenge:
      return [m.tag, m.nonce, m.share, m.confirm];
    case Tag.joinConfirm:
      return [m.tag, m.nonce, m.confirm];
    case Tag.joinAccepted:
      return [m.tag, m.nonce, m.roomSessionId, encodeState(m.state)];
    case Tag.joinRejected:
      return [m.tag, m.nonce, m.code, m.reason];
    case Tag.moderator:
      return [m.tag, encodeChain(m.chain)];
    case Tag.state:
      return [m.tag, encodeState(m.state)];
    case Tag.stateAck:
      return [m.tag, m.version];
    case Tag.kicked:
      return [m.tag, m.reason];
    case Tag.privilegeRequest:
      return [m.tag, m.nonce, m.action, m.streamId, m.timestamp, m.signature];
    case Tag.privilegeResponse:
      return [m.tag, m.nonce, m.granted];
    case Tag.change:
      return [m.tag, encodeChange(m.change)];
  }
}

// --- decoding ---------------------------------------------------------------------------------------

function bad(what: string): never {
  throw new SealsigError('E_FRAME_MALFORMED', `rooms: ${what}`);
}

function bytes(v: unknown, length: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) bad(`${what} must be ${length} bytes`);
  return v;
}

function text(v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max) bad(`${what} must be a string of at most ${max} characters`);
  return v;
}

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) bad(`${what} must be an unsigned integer`);
  return v;
}

function array(v: unknown, min: number, max: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) bad(`${what} must be an array of ${min}..${max} elements`);
  return v;
}

function decodeLink(v: unknown): ChainLink {
  const [key, version, epoch, signature] = array(v, 4, 4, 'chain link');
  return { key: bytes(key, 32, 'chain key'), version: uint(version, 'link version'), epoch: uint(epoch, 'link epoch', 0xffffffff), signature: bytes(signature, 64, 'chain signature') };
}

export function decodeChain(v: unknown): ChainLink[] {
  return array(v, 0, MAX_CHAIN, 'chain').map(decodeLink);
}

function decodeMember(v: unknown): { key: Uint8Array; name: string } {
  const [key, name] = array(v, 2, 2, 'member');
  return { key: bytes(key, 32, 'member key'), name: text(name, MAX_NAME_CHARS, 'member name') };
}

function decodeBan(v: unknown): { key: Uint8Array; reason: string } {
  const [key, reason] = array(v, 2, 2, 'ban');
  return { key: bytes(key, 32, 'banned key'), reason: text(reason, MAX_REASON_CHARS, 'ban reason') };
}

/** §R5 A state change; `roomKey` present exactly when the change says so is checked by the reader (it needs the old epoch). */
export function decodeChange(v: unknown): StateChange {
  const [version, epoch, roomKey, link, add, remove, ban, ice, revoked] = array(v, 9, 9, 'state change');
  return {
    version: uint(version, 'version'),
    epoch: uint(epoch, 'epoch', 0xffffffff),
    roomKey: roomKey === null ? null : bytes(roomKey, 32, 'room key'),
    link: link === null ? null : decodeLink(link),
    add: array(add, 0, MAX_MEMBERS, 'added members').map(decodeMember),
    remove: array(remove, 0, MAX_MEMBERS, 'removed members').map((k) => bytes(k, 32, 'removed key')),
    ban: array(ban, 0, MAX_BANNED, 'bans').map(decodeBan),
    iceServers: ice === null ? null : array(ice, 0, MAX_ICE_SERVERS, 'ice servers').map(decodeIce),
    revoked: revoked === null ? null : array(revoked, 0, MAX_REVOKED, 'revoked invites').map(decodeRevoked),
  };
}

function decodeIce(v: unknown): IceServer {
  const [urls, username, credential] = array(v, 3, 3, 'ice server');
  const list = typeof urls === 'string' ? [urls] : array(urls, 1, 8, 'ice urls');
  for (const u of list) if (typeof u !== 'string' || u.length > 512 || !/^(stun|stuns|turn|turns):/.test(u)) bad('ice url must be stun:, stuns:, turn: or turns:');
  const s: IceServer = { urls: urls as string | string[] };
  if (username !== null) s.username = text(username, 512, 'ice username');
  if (credential !== null) s.credential = text(credential, 512, 'ice credential');
  return s;
}

export function decodeState(v: unknown): RoomState {
  const [version, epoch, roomKey, moderator, members, ice, chain, banned, revoked] = array(v, 9, 9, 'state');
  const list = array(members, 1, MAX_MEMBERS, 'members').map(decodeMember);
  return {
    version: uint(version, 'version'),
    epoch: uint(epoch, 'epoch', 0xffffffff),
    roomKey: bytes(roomKey, 32, 'room key'),
    moderator: bytes(moderator, 32, 'moderator key'),
    members: list,
    iceServers: array(ice, 0, MAX_ICE_SERVERS, 'ice servers').map(decodeIce),
    chain: decodeChain(chain),
    banned: array(banned, 0, MAX_BANNED, 'banned').map(decodeBan),
    revoked: array(revoked, 0, MAX_REVOKED, 'revoked invites').map(decodeRevoked),
  };
}

/** A deep copy of a state through the wire encoding: what members would decode, or E_FRAME_MALFORMED. */
export function copyState(s: RoomState): RoomState {
  return decodeState(decodeCanonical(encodeCanonical(encodeState(s))));
}

/** ICE servers as a state carries them (§R5), through the wire encoding; E_FRAME_MALFORMED otherwise. */
export function copyIceServers(servers: IceServer[]): IceServer[] {
  return array(decodeCanonical(encodeCanonical(servers.map(iceToWire))), 0, MAX_ICE_SERVERS, 'ice servers').map(decodeIce);
}

/** Bytes of a value's canonical encoding (core §5.1); a value that has none is E_FRAME_MALFORMED. */
function encodedLength(v: unknown): number {
  try {
    return encodeCanonical(v).length;
  } catch (e) {
    throw new SealsigError('E_FRAME_MALFORMED', 'a value with no canonical encoding', { cause: e });
  }
}

/** Decodes a rooms message from a core message payload. */
export function fromWire(v: unknown): Message {
  const a = array(v, 1, 7, 'message');
  const tag = a[0];
  const n = (i: number) => bytes(a[i], NONCE_BYTES, 'nonce');
  const len = (k: number) => {
    if (a.length !== k) bad(`message ${String(tag)} must have ${k} elements`);
  };
  switch (tag) {
    case Tag.app:
      len(2);
      return { tag, value: a[1] };
    case Tag.joinRequest: {
      len(6);
      if (encodedLength(a[3]) > MAX_APP_DATA_BYTES) bad(`app data above ${MAX_APP_DATA_BYTES} bytes`);
      const share = a[4] === null ? null : bytes(a[4], 32, 'share');
      return { tag, nonce: n(1), name: text(a[2], MAX_NAME_CHARS, 'name'), appData: a[3], share, grant: a[5] === null ? null : decodeGrant(a[5]) };
    }
    case Tag.joinChallenge:
      len(4);
      return { tag, nonce: n(1), share: bytes(a[2], 32, 'share'), confirm: bytes(a[3], 32, 'confirm') };
    case Tag.joinConfirm:
      len(3);
      return { tag, nonce: n(1), confirm: bytes(a[2], 32, 'confirm') };
    case Tag.joinAccepted: {
      len(4);
      const id = text(a[2], 86, 'room session id');
      return { tag, nonce: n(1), roomSessionId: id, state: decodeState(a[3]) };
    }
    case Tag.joinRejected: {
      len(4);
      const code = text(a[2], 32, 'reject code');
      if (!REJECT_CODES.includes(code)) bad('unknown reject code');
      return { tag, nonce: n(1), code: code as RejectCode, reason: text(a[3], MAX_REASON_CHARS, 'reason') };
    }
    case Tag.moderator:
      len(2);
      return { tag, chain: decodeChain(a[1]) };
    case Tag.state:
      len(2);
      return { tag, state: decodeState(a[1]) };
    case Tag.stateAck:
      len(2);
      return { tag, version: uint(a[1], 'version') };
    case Tag.kicked:
      len(2);
      return { tag, reason: text(a[1], MAX_REASON_CHARS, 'reason') };
    case Tag.privilegeRequest: {
      len(6);
      if (a[2] !== 'stop' && a[2] !== 'mute') bad('privilege action must be stop or mute');
      return {
        tag,
        nonce: n(1),
        action: a[2],
        streamId: text(a[3], MAX_STREAM_ID_CHARS, 'stream id'),
        timestamp: uint(a[4], 'timestamp'),
        signature: bytes(a[5], 64, 'signature'),
      };
    }
    case Tag.privilegeResponse:
      len(3);
      if (typeof a[2] !== 'boolean') bad('granted must be a boolean');
      return { tag, nonce: n(1), granted: a[2] };
    case Tag.change:
      len(2);
      return { tag, change: decodeChange(a[1]) };
    default:
      return bad(`unknown message tag ${typeof tag === 'number' ? tag : typeof tag}`); // never String() an untrusted value
  }
}
