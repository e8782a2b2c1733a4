/**
 * Revoked invites (docs/PROTOCOL.md §R5.1, §R5.2): a bounded list in the room state, `[[invite_id (bin 8),
 * expires_at (uint, Unix seconds)], ...]`, so that a revocation survives a handover and a vanished moderator
 * (every member holds the state; whoever moderates next refuses the same invites, §R3). An entry is dropped
 * once its invite has expired anyway (the moderator refuses it as expired then); the moderator prunes when it
 * commits a new list, and a change carries the whole new list (or nil: unchanged), so members never prune by
 * their own clocks and every replica holds the same list.
 */
import { SealsigError, equalBytes } from '@sealsig/core';
import { MAX_REVOKED, type RevokedInvite } from './wire.js';

/**
 * §R5.1 The list after revoking the invite `entry` (its id, and expiry in Unix ms) at `now` (ms): the entries
 * not yet expired, then `entry`. Undefined when nothing changes (already listed, or already expired);
 * E_QUEUE_FULL when MAX_REVOKED unexpired invites are revoked already (issue shorter-lived invites).
 */
export function withRevoked(list: readonly RevokedInvite[], entry: RevokedInvite, now: number): RevokedInvite[] | undefined {
  if (entry.expiresAt <= now || list.some((r) => equalBytes(r.id, entry.id))) return undefined;
  const live = list.filter((r) => r.expiresAt > now);
  if (live.length >= MAX_REVOKED) {
    throw new SealsigError('E_QUEUE_FULL', `${MAX_REVOKED} unexpired invites are revoked already: wait for one to expire, or issue shorter-lived invites`);
  }
  return [...live, { id: entry.id.slice(), expiresAt: entry.expiresAt }];
}

/** Whether `id` is revoked in `list`. */
export function isRevoked(list: readonly RevokedInvite[], id: Uint8Array): boolean {
  return list.some((r) => equalBytes(r.id, id));
}
