/**
 * Invites (docs/PROTOCOL.md §R2): what a room's creator hands out, and what an app shows the user before
 * anything is sent (consent, §R3). Parsing an invite is local: it opens no connection.
 *
 *   invite = base64url(msgpack([1, sid (bin 16..64), moderator_ed25519_public (bin 32), flags (uint)]))
 *   flags  = bit 0: the room asks a password
 */
import { SealsigError, decodeCanonical, encodeCanonical, fromBase64Url, parseSessionId, toBase64Url, toHex } from '@sealsig/core';

export const INVITE_VERSION = 1;
const MAX_INVITE_CHARS = 200;
const FLAG_PASSWORD = 1;

export interface Invite {
  /** The lobby's session id: a bearer capability for the lobby only, not for the room. */
  readonly sessionId: string;
  /** The moderator's Ed25519 public key, pinned: only this key (or its certified successors) can admit. */
  readonly moderatorKey: Uint8Array;
  /** Whether joining needs the room password (checked with CPace, §R4). */
  readonly passwordRequired: boolean;
}

/** §R2 The invite as text (URL-fragment safe). */
export function encodeInvite(invite: Invite): string {
  const sid = parseSessionId(invite.sessionId);
  if (!(invite.moderatorKey instanceof Uint8Array) || invite.moderatorKey.length !== 32) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'moderatorKey must be a 32-byte Ed25519 public key');
  }
  return toBase64Url(encodeCanonical([INVITE_VERSION, sid, invite.moderatorKey, invite.passwordRequired ? FLAG_PASSWORD : 0]));
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
  if (!Array.isArray(v) || v.length !== 4) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not a 4-element array');
  const [version, sid, key, flags] = v as unknown[];
  if (version !== INVITE_VERSION) throw new SealsigError('E_VERSION', `invite version ${typeof version === 'number' ? version : typeof version}`);
  if (!(sid instanceof Uint8Array) || !(key instanceof Uint8Array) || key.length !== 32 || typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > FLAG_PASSWORD) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'invite fields are malformed');
  }
  const sessionId = toBase64Url(sid);
  parseSessionId(sessionId); // length bounds
  const invite: Invite = { sessionId, moderatorKey: key.slice(), passwordRequired: (flags & FLAG_PASSWORD) !== 0 };
  if (encodeInvite(invite) !== body) throw new SealsigError('E_INVALID_ARGUMENT', 'invite is not in canonical form');
  return invite;
}

/** A short, human-comparable fingerprint of a moderator key (first 8 bytes, hex, grouped). */
export function keyFingerprint(key: Uint8Array): string {
  return toHex(key.subarray(0, 8)).replace(/(.{4})(?!$)/g, '$1 ');
}
