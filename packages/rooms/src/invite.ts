/**
 * Invites (docs/PROTOCOL.md §R2): what a room's creator hands out, and what an app shows the user before
 * anything is sent (consent, §R3). Parsing an invite is local: it opens no connection.
 *
 *   invite = base64url(msgpack([2, sid (bin 16..64), moderator_ed25519_public (bin 32), chain_index (uint 0..16),
 *                               flags (uint 0..1), expires_at (uint, Unix seconds)]))
 *   flags  = 1 if the room asks a password, else 0
 *
 * The moderator issuing an invite pins its own key and its position in the moderator chain (§R6), so a former
 * moderator cannot answer joiners holding it; an invite past `expires_at` is refused before anything is sent.
 */
import { SealsigError, decodeCanonical, encodeCanonical, fromBase64Url, parseSessionId, toBase64Url, toHex } from '@sealsig/core';
import type { RoomState } from './wire.js';

/** The invite format version (§R3). */
export const INVITE_VERSION = 2;
export const MAX_CHAIN_INDEX = 16;
const MAX_INVITE_CHARS = 200;
const FLAG_PASSWORD = 1;
/** Unix seconds an invite may name (so that `expires_at * 1000` stays a safe integer). */
const MAX_EXPIRES_S = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** A parsed invite (§R3): what a joiner needs to find the lobby and check the moderator. */
export interface Invite {
  /** The lobby's session id: a bearer capability for the lobby only, not for the room. */
  readonly sessionId: string;
  /** The issuing moderator's Ed25519 public key, pinned: only this key (or its certified successors) can admit. */
  readonly moderatorKey: Uint8Array;
  /** The pinned key's position in the moderator chain: 0 for the room's creator, i after the i-th transfer (§R6). */
  readonly chainIndex: number;
  /** Unix time (ms, a whole second) after which joiners refuse the invite (§R2). */
  readonly expiresAt: number;
  /** Whether joining needs the room password (checked with CPace, §R4). */
  readonly passwordRequired: boolean;
}

/** §R2 The invite as text (URL-fragment safe). */
export function encodeInvite(invite: Invite): string {
  const sid = parseSessionId(invite.sessionId);
  if (!(invite.moderatorKey instanceof Uint8Array) || invite.moderatorKey.length !== 32) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'moderatorKey must be a 32-byte Ed25519 public key');
  }
  if (!Number.isSafeInteger(invite.chainIndex) || invite.chainIndex < 0 || invite.chainIndex > MAX_CHAIN_INDEX) {
    throw new SealsigError('E_INVALID_ARGUMENT', `chainIndex must be an integer 0..${MAX_CHAIN_INDEX}`);
  }
  if (!Number.isSafeInteger(invite.expiresAt) || invite.expiresAt < 0 || invite.expiresAt % 1000 !== 0) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'expiresAt must be a whole second, in ms');
  }
  const flags = invite.passwordRequired ? FLAG_PASSWORD : 0;
  return toBase64Url(encodeCanonical([INVITE_VERSION, sid, invite.moderatorKey, invite.chainIndex, flags, invite.expiresAt / 1000]));
}

/**
 * §R2 Parses an invite, or the URL it is in (the text after `#invite=` or after `#`). Sends nothing: show the
 * user what it says and ask before calling joinRoom (§R3). Throws E_INVALID_ARGUMENT on anything malformed.
 */
export function parseInvite(text: string): Invite {
  if (typeof text !== 'string') throw new SealsigError('E_INVALID_ARGUMENT', 'an invite is a string');
  const hash = text.lastIndexOf('#');
  let body = hash >= 0 ? text.slice(hash + 1) : text;
  if (body.startsWith('invite=')) body = body.slice('invite='.length);
  if (body.length > MAX_INVITE_CHARS) throw new SealsigError('E_INVALID_ARGUMENT', 'invite too long');
  const bytes = fromBase64Url(body);
  if (bytes === undefined) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not base64url');
  let v: unknown;
  try {
    v = decodeCanonical(bytes);
  } catch (e) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not canonical msgpack', { cause: e });
  }
  if (!Array.isArray(v) || v.length < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not an array');
  const version = v[0] as unknown;
  if (version !== INVITE_VERSION) throw new SealsigError('E_VERSION', `invite version ${typeof version === 'number' ? version : typeof version}`);
  if (v.length !== 6) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not a 6-element array');
  const [, sid, key, index, flags, expires] = v as unknown[];
  const uint = (x: unknown, max: number) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;
  if (!(sid instanceof Uint8Array) || !(key instanceof Uint8Array) || key.length !== 32 || !uint(index, MAX_CHAIN_INDEX) || !uint(flags, FLAG_PASSWORD) || !uint(expires, MAX_EXPIRES_S)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'invite fields are malformed');
  }
  const sessionId = toBase64Url(sid);
  parseSessionId(sessionId); // length bounds
  const invite: Invite = {
    sessionId,
    moderatorKey: key.slice(),
    chainIndex: index as number,
    passwordRequired: flags === FLAG_PASSWORD,
    expiresAt: (expires as number) * 1000,
  };
  if (encodeInvite(invite) !== body) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not in canonical form');
  return invite;
}

/** A short, human-comparable fingerprint of a moderator key (first 8 bytes, hex, grouped). */
export function keyFingerprint(key: Uint8Array): string {
  return toHex(key.subarray(0, 8)).replace(/(.{4})(?!$)/g, '$1 ');
}

/** §R2 Refuses (E_STALE) an invite whose expiry has passed. */
export function checkInviteFresh(invite: Invite, now = Date.now()): void {
  if (invite.expiresAt <= now) throw new SealsigError('E_STALE', `the invite expired at ${new Date(invite.expiresAt).toISOString()}; ask the moderator for a new one`);
}

const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000;

/** §R2 An invite pinning the moderator of `state` at its chain position, expiring `ttlMs` from now (rounded up to a second). */
export function issueInvite(sessionId: string, state: RoomState, passwordRequired: boolean, ttlMs = DEFAULT_INVITE_TTL_MS): Invite {
  const expiresAt = Math.ceil((Date.now() + ttlMs) / 1000) * 1000;
  return { sessionId, moderatorKey: state.moderator.slice(), chainIndex: state.chain.length, passwordRequired, expiresAt };
}
