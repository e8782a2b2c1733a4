/**
 * Signed invites (docs/PROTOCOL.md §R2, §R3): the moderator signs what an invite grants, the joiner hands the
 * grant to the moderator in its join request, and the moderator checks it before anything else it does for
 * the request (before the password check, before asking its app):
 *
 *   signature = Ed25519-Sign(signer, "sealsig/v3/rooms/invite" || 0x00 || descriptor_id (16) || invite_id (8)
 *                            || u64be(expires_at, Unix seconds) || u32be(chain_index) || u32be(flags))
 *   grant     = [invite_id (bin 8), expires_at (uint, Unix seconds), flags (uint 0..1),
 *                chain_index (uint 0..16), signer (bin 32), signature (bin 64)]       (join-request, §R1)
 *
 * The signer is the key at `chain_index` of the moderator chain (§R6): the current moderator (its own
 * position) or, unless `inviteSigners` is 'self', a former moderator of its chain (a predecessor's invites stay
 * valid across a handover; §R6.4 says what that leaves to a former moderator). checkGrant's answer, in order:
 * `invite-invalid` (no grant, a signer not at that position, a signature that does not verify),
 * `invite-expired` (expires_at × 1000 <= now, ms), `invite-revoked` (its id in the state's list, §R5.1).
 */
import { ed25519Sign, ed25519Verify, equalBytes, randomBytes, u32be, u64be } from '@sealsig/core';
import { chainEnd } from './chain.js';
import { INVITE_ID_BYTES, type Invite } from './invite.js';
import { RoomLabels, descriptorIdOf, signatureInput } from './labels.js';
import type { ChainLink, RejectCode } from './wire.js';
import type { InviteGrant } from './wire-grant.js';

/** Whom a moderator takes invites from (§R2): its whole chain (default) or only itself. */
export type InviteSigners = 'chain' | 'self';

const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000;

/** §R2 The signed input of an invite. */
export function inviteInput(descriptorId: Uint8Array, id: Uint8Array, expiresAtS: number, chainIndex: number, flags: number): Uint8Array {
  return signatureInput(RoomLabels.inviteSignature, descriptorId, id, u64be(expiresAtS), u32be(chainIndex), u32be(flags));
}

/** §R2 The grant an invite carries, as the join request sends it. */
export function grantOf(invite: Invite): InviteGrant {
  return {
    id: invite.id.slice(),
    expiresAtS: invite.expiresAt / 1000,
    flags: invite.passwordRequired ? 1 : 0,
    chainIndex: invite.chainIndex,
    signer: invite.moderatorKey.slice(),
    signature: invite.signature.slice(),
  };
}

/**
 * §R2 A new invite signed by `signingSecret` (the moderator's key, `moderatorKey`, at position `chainIndex`),
 * expiring `ttlMs` from `now` (both ms), rounded up to a whole second.
 */
export function issueInvite(
  sessionId: string,
  moderatorKey: Uint8Array,
  chainIndex: number,
  passwordRequired: boolean,
  signingSecret: Uint8Array,
  ttlMs = DEFAULT_INVITE_TTL_MS,
  now = Date.now(),
): Invite {
  const expiresAt = Math.ceil((now + ttlMs) / 1000) * 1000;
  const id = randomBytes(INVITE_ID_BYTES);
  const signature = ed25519Sign(signingSecret, inviteInput(descriptorIdOf(sessionId), id, expiresAt / 1000, chainIndex, passwordRequired ? 1 : 0));
  return { sessionId, moderatorKey: moderatorKey.slice(), chainIndex, passwordRequired, expiresAt, id, signature };
}

/** §R2 Whether the invite's signature verifies under its own moderator key (the joiner's check: tampering). */
export function inviteSignatureValid(invite: Invite): boolean {
  const g = grantOf(invite);
  return ed25519Verify(g.signer, inviteInput(descriptorIdOf(invite.sessionId), g.id, g.expiresAtS, g.chainIndex, g.flags), g.signature);
}

/** What the moderator checks a grant against. */
export interface GrantContext {
  /** The room's descriptor id (§R2). */
  descriptorId: Uint8Array;
  /** The moderator's own key and chain: the signers it knows. */
  moderator: Uint8Array;
  chain: ChainLink[];
  /** Revoked invite ids (the state's list, §R5.1). */
  revoked: { id: Uint8Array }[];
  /** Whose invites count (default 'chain'). */
  signers?: InviteSigners;
  /** Unix time, ms. */
  now: number;
}

/** Why the moderator refuses a grant. */
export interface GrantRefusal {
  code: Extract<RejectCode, 'invite-invalid' | 'invite-expired' | 'invite-revoked'>;
  reason: string;
}

/** Whether `signer` is the key at `index` of the chain whose end is `moderator` (§R6; links up to it are trusted). */
function signerAt(signer: Uint8Array, index: number, ctx: GrantContext): boolean {
  const { chain, moderator } = ctx;
  if (index === chain.length) return equalBytes(signer, moderator);
  if ((ctx.signers ?? 'chain') === 'self' || index > chain.length) return false;
  if (index > 0) return equalBytes(chain[index - 1]!.key, signer);
  // key_0 is in no link: it is the key whose signature link 1 carries.
  return chainEnd(chain.slice(0, 1), ctx.descriptorId, { key: signer, index: 0 }) !== undefined;
}

/** §R3 The moderator's check of a join request's grant: undefined if it admits the request further, else why not. */
export function checkGrant(grant: InviteGrant | null, ctx: GrantContext): GrantRefusal | undefined {
  if (grant === null) return { code: 'invite-invalid', reason: 'the request carries no invite' };
  if (!signerAt(grant.signer, grant.chainIndex, ctx)) return { code: 'invite-invalid', reason: 'the invite is not signed by a moderator this one accepts' };
  const input = inviteInput(ctx.descriptorId, grant.id, grant.expiresAtS, grant.chainIndex, grant.flags);
  if (!ed25519Verify(grant.signer, input, grant.signature)) return { code: 'invite-invalid', reason: 'the invite signature does not verify' };
  return grantStanding(grant, ctx);
}

/** §R3 The part of the check that can change after a grant verified: not expired, not revoked. */
export function grantStanding(grant: InviteGrant, ctx: Pick<GrantContext, 'revoked' | 'now'>): GrantRefusal | undefined {
  if (grant.expiresAtS * 1000 <= ctx.now) return { code: 'invite-expired', reason: 'the invite has expired; ask the moderator for a new one' };
  if (ctx.revoked.some((r) => equalBytes(r.id, grant.id))) return { code: 'invite-revoked', reason: 'the invite was revoked; ask the moderator for a new one' };
  return undefined;
}
