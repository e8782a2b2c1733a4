/**
 * The wire forms protocol v3 adds to rooms messages (docs/PROTOCOL.md §R1, §R2, §R5.1): an invite's grant, as
 * a join request carries it, and a revoked invite, as the state and changes carry it. Decoding checks every
 * field's type and bound; failures are E_FRAME_MALFORMED, as for every rooms message (wire.ts).
 *
 *   grant   = [invite_id (bin 8), expires_at (uint, Unix seconds), flags (uint 0..1), chain_index (uint 0..16),
 *              signer (bin 32), signature (bin 64)]
 *   revoked = [invite_id (bin 8), expires_at (uint, Unix seconds)]
 */
import { SealsigError } from '@sealsig/core';
import { INVITE_ID_BYTES, MAX_CHAIN_INDEX, MAX_EXPIRES_S } from './invite.js';

/** What an invite grants, as the joiner hands it to the moderator (§R1 join-request, §R2). */
export interface InviteGrant {
  /** The invite's id (8 bytes). */
  id: Uint8Array;
  /** Unix time, seconds, from which the invite is expired. */
  expiresAtS: number;
  /** 1 if the room asks a password, else 0. */
  flags: number;
  /** The signer's position in the moderator chain. */
  chainIndex: number;
  /** The signer's Ed25519 public key (the invite's moderator key). */
  signer: Uint8Array;
  /** The signature over the grant (invite-grant.ts). */
  signature: Uint8Array;
}

/** A revoked invite (§R5.1). */
export interface RevokedInvite {
  /** The invite's id (8 bytes). */
  id: Uint8Array;
  /** Unix time in ms (a whole second; seconds on the wire) from which the invite is expired anyway. */
  expiresAt: number;
}

function bad(what: string): never {
  throw new SealsigError('E_FRAME_MALFORMED', `rooms: ${what}`);
}

const uint = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;
const bin = (x: unknown, n: number): x is Uint8Array => x instanceof Uint8Array && x.length === n;

export function encodeGrant(g: InviteGrant): unknown[] {
  return [g.id, g.expiresAtS, g.flags, g.chainIndex, g.signer, g.signature];
}

export function decodeGrant(v: unknown): InviteGrant {
  if (!Array.isArray(v) || v.length !== 6) bad('an invite grant must be an array of 6 elements');
  const [id, expiresAtS, flags, chainIndex, signer, signature] = v as unknown[];
  if (!bin(id, INVITE_ID_BYTES) || !uint(expiresAtS, MAX_EXPIRES_S) || !uint(flags, 1) || !uint(chainIndex, MAX_CHAIN_INDEX) || !bin(signer, 32) || !bin(signature, 64)) {
    bad('invite grant fields are malformed');
  }
  return { id, expiresAtS, flags, chainIndex, signer, signature };
}

export function encodeRevoked(r: RevokedInvite): unknown[] {
  return [r.id, r.expiresAt / 1000];
}

export function decodeRevoked(v: unknown): RevokedInvite {
  if (!Array.isArray(v) || v.length !== 2) bad('a revoked invite must be an array of 2 elements');
  const [id, expiresAtS] = v as unknown[];
  if (!bin(id, INVITE_ID_BYTES) || !uint(expiresAtS, MAX_EXPIRES_S)) bad('revoked invite fields are malformed');
  return { id, expiresAt: expiresAtS * 1000 };
}
