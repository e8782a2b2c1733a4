/**
 * The lobby's door (docs/PROTOCOL.md §R3 "Door", core §6.5): which admission queue a lobby hello waits in at
 * the moderator, decided before the moderator does any work for it, and the joiner's side: the invite grant
 * its lobby hello shows, and the admission work it adds while nobody answers.
 *
 * The moderator's lobby admits new instances through core's admission queues: one queue per invite (its
 * grant, shown in the hello's meta, verified once and remembered), one for keys its state lists (members
 * resynchronising), one for the rest. A party flooding the lobby with fresh identities under its invite fills
 * its own invite's queue only: a joiner holding another invite is admitted at once, and one holding the same
 * invite gets ahead of the flood by putting more work into its hello than the flooder puts into each
 * identity (core §6.5).
 */
import { TokenBucket, encodeCanonical, toHex, type AdmissionPolicy, type Session } from '@sealsig/core';
import type { GrantRefusal } from './invite-grant.js';
import { grantOf } from './invite-grant.js';
import type { Invite } from './invite.js';
import { decodeGrant, encodeGrant, type InviteGrant } from './wire-grant.js';

/** New instances a queue admits per second, and its least bucket (core §6.5): a class of 16 sharing one link gets in at once. */
export const DOOR_RATE = 8;
export const DOOR_BURST = 16;
/** Grants the door verifies per second at most (an Ed25519 verification each), and its bucket. */
export const GRANT_CHECKS_PER_SECOND = 8;
const GRANT_CHECK_BURST = 16;
/** Verified grants remembered (by invite id). */
const MAX_REMEMBERED = 256;
/** The joiner's admission work while nobody answers: after each delay, this many bits (core §6.5). */
export const WORK_STEPS: readonly { afterMs: number; bits: number }[] = [
  { afterMs: 1_000, bits: 8 },
  { afterMs: 2_000, bits: 12 },
  { afterMs: 3_000, bits: 16 },
  { afterMs: 5_000, bits: 20 },
];

/** §R3 The meta of a joiner's lobby hello: its invite's grant (what its join request carries too). */
export function lobbyMeta(invite: Invite): unknown {
  return { grant: encodeGrant(grantOf(invite)) };
}

function grantOfMeta(meta: unknown): InviteGrant | undefined {
  if (meta === null || typeof meta !== 'object' || !('grant' in meta)) return undefined;
  try {
    return decodeGrant((meta as { grant: unknown }).grant);
  } catch {
    return undefined;
  }
}

export interface DoorHost {
  /** §R3 The moderator's whole check of a grant: signer, signature, expiry, revocation. */
  checkGrant(grant: InviteGrant): GrantRefusal | undefined;
  /** The cheap part of it, for a grant whose signature was verified before: not expired, not revoked. */
  current(grant: InviteGrant): boolean;
  /** Whether the state lists this Ed25519 key. */
  lists(key: Uint8Array): boolean;
  now(): number;
}

/** §R3 The moderator's admission policy for its lobby session (core SessionOptions.admission). */
export class LobbyDoor implements AdmissionPolicy {
  readonly rate: number;
  readonly burst: number;
  readonly #h: DoorHost;
  /** Grants whose signature verified: invite id (hex) -> the grant's canonical encoding (hex). */
  readonly #verified = new Map<string, string>();
  readonly #checks: TokenBucket;

  constructor(host: DoorHost, rate = DOOR_RATE) {
    this.#h = host;
    this.#checks = new TokenBucket(GRANT_CHECK_BURST, GRANT_CHECKS_PER_SECOND, 1000, host.now());
    this.rate = rate;
    this.burst = Math.max(DOOR_BURST, Math.ceil(2 * rate));
  }

  /** core §6.5 The queue of a lobby hello: 'members', its invite's, 'refused invites', 'unchecked' or 'no invite'. */
  queue(meta: unknown, signingKey: Uint8Array): string | undefined {
    if (this.#h.lists(signingKey)) return 'members'; // resynchronising: a listed key needs no valid grant (§R3)
    const grant = grantOfMeta(meta);
    if (grant === undefined) return 'no invite';
    const id = toHex(grant.id);
    const encoded = toHex(encodeCanonical(encodeGrant(grant)));
    if (this.#verified.get(id) === encoded) return this.#h.current(grant) ? `invite ${id}` : 'refused invites';
    if (!this.#checks.take(this.#h.now())) return 'unchecked'; // more new grants a second than the door checks: they wait together
    // A grant the desk will refuse still gets in, through one shared queue: the desk tells its holder why (§R3).
    if (this.#h.checkGrant(grant) !== undefined) return 'refused invites';
    if (this.#verified.size >= MAX_REMEMBERED) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(id, encoded);
    return `invite ${id}`;
  }
}

/**
 * The joiner's admission work (core §6.5): while `waiting()` says nobody has answered yet, it says hello
 * again with more work after each step's delay. Returns a function that stops it.
 */
export function escalateWork(lobby: Session, waiting: () => boolean): () => void {
  const timers = WORK_STEPS.map(({ afterMs, bits }) =>
    setTimeout(() => {
      if (waiting() && !lobby.closed) void lobby.announce({ work: bits }).catch(() => {});
    }, afterMs),
  );
  for (const t of timers) (t as { unref?: () => void }).unref?.();
  return () => {
    for (const t of timers) clearTimeout(t);
  };
}
