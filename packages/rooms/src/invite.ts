/**
 * Invites (docs/PROTOCOL.md §R2): what a room's moderator hands out, and what an app shows the user before
 * anything is sent (consent, §R3). Parsing an invite is local: it opens no connection and needs no crypto.
 *
 *   invite = base64url(msgpack([3, sid (bin 16), moderator_key (bin 32), chain_index (uint 0..16),
 *                               flags (uint 0..1), expires_at (uint, Unix seconds), invite_id (bin 8),
 *                               signature (bin 64)]))
 *   flags  = 1 if the room asks a password, else 0
 *
 * The signature (invite-grant.ts) is the moderator's over what the invite grants; the joiner hands those fields
 * to the moderator in its join request, and the moderator refuses an expired, revoked or forged one (§R3).
 * The longest invite is 188 characters (MAX_INVITE_CHARS is 200), short enough for a QR code.
 */
import { SealsigError, decodeCanonical, encodeCanonical, fromBase64Url, parseSessionId, toBase64Url, toHex } from '@sealsig/core';

/** The invite format version (§R2). */
export const INVITE_VERSION = 3;
export const MAX_CHAIN_INDEX = 16;
/** Characters an invite's text may have (§R2); the longest v3 invite has 188. */
export const MAX_INVITE_CHARS = 200;
/** Bytes of an invite id (§R2). */
export const INVITE_ID_BYTES = 8;
/** Bytes of the lobby session id an invite carries (§R2: exactly the size core's createSessionId makes). */
const SID_BYTES = 16;
const FLAG_PASSWORD = 1;
/** Unix seconds an invite may name (so that `expires_at * 1000` stays a safe integer). */
export const MAX_EXPIRES_S = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** A parsed invite (§R2): what a joiner needs to find the lobby, check the moderator, and show its grant. */
export interface Invite {
  /** The lobby's session id: a bearer capability for the lobby only, not for the room. */
  readonly sessionId: string;
  /** The issuing moderator's Ed25519 public key, pinned: only this key (or its certified successors) can admit. */
  readonly moderatorKey: Uint8Array;
  /** The pinned key's position in the moderator chain: 0 for the room's creator, i after the i-th transfer (§R6). */
  readonly chainIndex: number;
  /** Unix time in ms (a whole second; seconds on the wire) from which the invite is expired (§R2). */
  readonly expiresAt: number;
  /** Whether joining needs the room password (checked with CPace, §R4). */
  readonly passwordRequired: boolean;
  /** The invite's id (8 random bytes): what a revocation names (§R5.1) and what the lobby desk counts by (§R3). */
  readonly id: Uint8Array;
  /** The issuing moderator's Ed25519 signature over the grant (§R2; invite-grant.ts). */
  readonly signature: Uint8Array;
}

function invalid(what: string): never {
  throw new SealsigError('E_INVALID_ARGUMENT', what);
}

const uint = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;
const bin = (x: unknown, n: number): x is Uint8Array => x instanceof Uint8Array && x.length === n;

/** §R2 The invite as text (URL-fragment safe). E_INVALID_ARGUMENT for fields out of their bounds. */
export function encodeInvite(invite: Invite): string {
  const sid = parseSessionId(invite.sessionId);
  if (sid.length !== SID_BYTES) invalid(`an invite's session id holds ${SID_BYTES} bytes`);
  if (!bin(invite.moderatorKey, 32)) invalid('moderatorKey must be a 32-byte Ed25519 public key');
  if (!uint(invite.chainIndex, MAX_CHAIN_INDEX)) invalid(`chainIndex must be an integer 0..${MAX_CHAIN_INDEX}`);
  if (!uint(invite.expiresAt, MAX_EXPIRES_S * 1000) || invite.expiresAt % 1000 !== 0) invalid('expiresAt must be a whole second, in ms');
  if (!bin(invite.id, INVITE_ID_BYTES)) invalid(`id must be ${INVITE_ID_BYTES} bytes`);
  if (!bin(invite.signature, 64)) invalid('signature must be 64 bytes');
  const flags = invite.passwordRequired ? FLAG_PASSWORD : 0;
  return toBase64Url(encodeCanonical([INVITE_VERSION, sid, invite.moderatorKey, invite.chainIndex, flags, invite.expiresAt / 1000, invite.id, invite.signature]));
}

/**
 * §R2 Parses an invite, or the URL it is in (the text after `#invite=` or after `#`). Sends nothing and checks
 * no signature (joinRoom does, checkInviteSignature): show the user what it says and ask before calling
 * joinRoom (§R3). E_VERSION for another layout version (v2 included), E_INVALID_ARGUMENT for anything malformed.
 */
export function parseInvite(text: string): Invite {
  if (typeof text !== 'string') invalid('an invite is a string');
  const hash = text.lastIndexOf('#');
  let body = hash >= 0 ? text.slice(hash + 1) : text;
  if (body.startsWith('invite=')) body = body.slice('invite='.length);
  if (body.length > MAX_INVITE_CHARS) invalid('invite too long');
  const bytes = fromBase64Url(body);
  if (bytes === undefined) invalid('invite is not base64url');
  let v: unknown;
  try {
    v = decodeCanonical(bytes);
  } catch (e) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not canonical msgpack', { cause: e });
  }
  if (!Array.isArray(v) || v.length < 1) invalid('invite is not an array');
  const version = v[0] as unknown;
  if (version !== INVITE_VERSION) {
    throw new SealsigError('E_VERSION', `invite version ${typeof version === 'number' ? version : typeof version}: this implementation reads version ${INVITE_VERSION} only; ask the moderator for a new invite`);
  }
  if (v.length !== 8) invalid('invite is not an 8-element array');
  const [, sid, key, index, flags, expires, id, signature] = v as unknown[];
  if (!bin(sid, SID_BYTES) || !bin(key, 32) || !uint(index, MAX_CHAIN_INDEX) || !uint(flags, FLAG_PASSWORD) || !uint(expires, MAX_EXPIRES_S) || !bin(id, INVITE_ID_BYTES) || !bin(signature, 64)) {
    invalid('invite fields are malformed');
  }
  const invite: Invite = {
    sessionId: toBase64Url(sid),
    moderatorKey: key.slice(),
    chainIndex: index,
    passwordRequired: flags === FLAG_PASSWORD,
    expiresAt: expires * 1000,
    id: id.slice(),
    signature: signature.slice(),
  };
  if (encodeInvite(invite) !== body) invalid('invite is not in canonical form');
  return invite;
}

/** A short, human-comparable fingerprint of a moderator key (first 8 bytes, hex, grouped). */
export function keyFingerprint(key: Uint8Array): string {
  return toHex(key.subarray(0, 8)).replace(/(.{4})(?!$)/g, '$1 ');
}

/** §R2 Refuses (E_STALE) an invite whose expiry has passed: `expiresAt <= now`, both Unix ms. */
export function checkInviteFresh(invite: Invite, now = Date.now()): void {
  if (invite.expiresAt <= now) throw new SealsigError('E_STALE', `the invite expired at ${new Date(invite.expiresAt).toISOString()}; ask the moderator for a new one`);
}
