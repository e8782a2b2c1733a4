/**
 * The invites a member holds and, as moderator, issues and revokes (docs/PROTOCOL.md §R2, §R5.1): the invite
 * it joined with (its lobby, for resynchronisation, §R5.5), the current one it hands out as `room.invite`,
 * new ones (`room.createInvite`) and revocations (`room.revokeInvite`), which are commits of the room state so
 * that whoever moderates next refuses the same invites (§R3).
 */
import { SealsigError, equalBytes } from '@sealsig/core';
import { MAX_EXPIRES_S, encodeInvite, parseInvite, type Invite } from './invite.js';
import { issueInvite } from './invite-grant.js';
import type { Moderator } from './moderator.js';
import type { Replica } from './replica.js';
import { isRevoked, withRevoked } from './revocations.js';

/** What the room's invites need of it. */
export interface InvitesHost {
  readonly replica: Replica;
  readonly moderator: Moderator;
  /** This member's Ed25519 secret key (signs invites while it moderates). */
  signingSecret(): Uint8Array;
  /** `moderation.inviteTtlMs`. */
  ttlMs(): number | undefined;
}

/** This member's invite, and the moderator's issuing and revoking. */
export class RoomInvites {
  readonly #h: InvitesHost;
  #invite: Invite;

  constructor(invite: Invite, host: InvitesHost) {
    this.#invite = invite;
    this.#h = host;
  }

  /** The invite this member joined with, or the latest it issued as moderator: its lobby (§R5.5). */
  get held(): Invite {
    return this.#invite;
  }

  /**
   * §R2 The invite to share: for the moderator, one it issued (a fresh one once the last has expired, been
   * revoked or moderation changed hands); for other members, the one they joined with.
   */
  current(now = Date.now()): string {
    const { replica } = this.#h;
    if (replica.isModerator) {
      const i = this.#invite;
      const s = replica.state;
      if (!equalBytes(i.moderatorKey, s.moderator) || i.chainIndex !== s.chain.length || i.expiresAt <= now || isRevoked(s.revoked, i.id)) {
        this.#invite = this.#issue(this.#h.ttlMs(), now);
      }
    }
    return encodeInvite(this.#invite);
  }

  /** §R2 A new invite signed by this moderator at its chain position, valid for `ttlMs` (≥ 1 s). */
  create(ttlMs?: number): string {
    this.#h.moderator.mustModerate();
    if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > MAX_EXPIRES_S * 1000 - Date.now())) {
      throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be an integer of at least 1000, ending before the year 287396');
    }
    return encodeInvite(this.#issue(ttlMs ?? this.#h.ttlMs()));
  }

  /**
   * §R5.1 Revokes an invite of this room (text or parsed): a commit adding it to the state's list, so that this
   * moderator and every later one refuses it (`invite-revoked`). False when nothing changed (already revoked,
   * or expired anyway). E_INVALID_ARGUMENT for an invite of another room, E_QUEUE_FULL when 64 unexpired
   * invites are revoked already.
   */
  revoke(invite: string | Invite): boolean {
    this.#h.moderator.mustModerate();
    const i = typeof invite === 'string' ? parseInvite(invite) : invite;
    if (i === null || typeof i !== 'object' || i.sessionId !== this.#invite.sessionId || !(i.id instanceof Uint8Array) || typeof i.expiresAt !== 'number') {
      throw new SealsigError('E_INVALID_ARGUMENT', 'not an invite of this room');
    }
    const { replica, moderator } = this.#h;
    const revoked = withRevoked(replica.state.revoked, { id: i.id, expiresAt: i.expiresAt }, Date.now());
    if (revoked === undefined) return false;
    moderator.commit({ revoked });
    return true;
  }

  #issue(ttlMs: number | undefined, now = Date.now()): Invite {
    const s = this.#h.replica.state;
    return issueInvite(this.#invite.sessionId, s.moderator, s.chain.length, this.#invite.passwordRequired, this.#h.signingSecret(), ttlMs, now);
  }
}
