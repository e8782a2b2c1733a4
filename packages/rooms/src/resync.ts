/**
 * Resynchronisation (docs/PROTOCOL.md §R5.5, with §R6.3 for whom a member believes). A member that missed
 * states for longer than the epoch grace period can no longer read the moderator's hellos (nor the moderator
 * its own), so the room's channel to it is gone for good. When the moderator has been out of sight for a
 * while, the member asks again through the lobby, as a listed member, pinning its own moderator: the moderator
 * answers with the current state without asking its app. Backs off while the moderator stays away; a kicked
 * member learns it this way if it missed the notice. The Room calls check() on a timer; it reaches the rest
 * through a ResyncHost.
 */
import { SealsigError, equalBytes, type SessionOptions } from '@sealsig/core';
import { isCertifiedSuccessor } from './chain.js';
import type { Invite } from './invite.js';
import { admitThroughLobby } from './join.js';
import type { RoomOptions } from './options.js';
import type { Replica } from './replica.js';

/** How often the Room calls check(). */
export const RESYNC_CHECK_MS = 1_000;
const RESYNC_TIMEOUT_MS = 10_000;

/** What resynchronisation needs of its room. */
export interface ResyncHost {
  /** This member's state: the version and moderator it pins, where a newer state goes. */
  readonly replica: Replica;
  /** The room's options: resyncAfterMs, retryMs. */
  readonly options: RoomOptions;
  /** The room session's id: a state for another session is not ours. */
  readonly roomSessionId: string;
  /** The room's descriptor id (§R2), to which the moderator chain is bound (§R6.1). */
  readonly descriptorId: Uint8Array;
  /** This member's display name, sent with the request. */
  readonly name: string;
  /** This member's Ed25519 public key: the state it is handed must list it. */
  readonly ownKey: Uint8Array;
  /** The invite this member joined with: its lobby. */
  invite(): Invite;
  /** The lobby session's options (the invite's session id, with this member's identity). */
  lobbyOptions(): SessionOptions;
  /** The room password, if the invite says there is one. */
  password(): string | undefined;
  /** Whether the room is closed. */
  isClosed(): boolean;
  /** Whether the moderator is in sight. */
  moderatorPresent(): boolean;
  /** The moderator refused this member's key: it was kicked, for this reason. */
  kicked(reason: string): void;
}

/** A member's watch on its moderator, asking the lobby again when it stays out of sight. */
export class Resync {
  readonly #h: ResyncHost;
  #running = false;
  #failures = 0;
  #moderatorAbsentSince: number | undefined;

  constructor(host: ResyncHost) {
    this.#h = host;
  }

  /** Starts a resynchronisation if the moderator has been out of sight for long enough (and none is under way). */
  check(): void {
    const { replica } = this.#h;
    if (this.#h.isClosed() || replica.isModerator || this.#running) return;
    const now = Date.now();
    if (this.#h.moderatorPresent()) {
      this.#moderatorAbsentSince = undefined;
      this.#failures = 0;
      return;
    }
    this.#moderatorAbsentSince ??= now;
    const wait = (this.#h.options.resyncAfterMs ?? 5_000) * 2 ** Math.min(this.#failures, 4);
    if (now - this.#moderatorAbsentSince < wait) return;
    this.#running = true;
    void this.#resync()
      .then(
        () => (this.#failures = 0),
        (e: unknown) => {
          this.#failures++;
          // Only our moderator's explicit refusal of this key is a kick ('busy' or 'timeout' are not). The
          // lobby asked nobody else: it pins our moderator (a former one still holds the key old invites pin).
          const r = e as { rejectCode?: string; reason?: string };
          if (e instanceof SealsigError && r.rejectCode === 'rejected') this.#h.kicked(r.reason ?? e.message);
        },
      )
      .finally(() => {
        this.#running = false;
        this.#moderatorAbsentSince = Date.now();
      });
  }

  async #resync(): Promise<void> {
    const { replica, options } = this.#h;
    const own = replica.state;
    const { roomSessionId, state, moderator } = await admitThroughLobby(this.#h.lobbyOptions(), this.#h.invite(), {
      name: this.#h.name,
      appData: null,
      password: this.#h.password(),
      timeoutMs: RESYNC_TIMEOUT_MS,
      retryMs: options.retryMs ?? 1_000,
      ownKey: this.#h.ownKey,
      // §R6 This member's anchor in the chain: the moderator its state names, after its chain's links.
      pin: { key: own.moderator, index: own.chain.length },
      after: own.version,
    });
    const held = replica.state; // what this member holds now: a state may have arrived meanwhile
    if (this.#h.isClosed() || roomSessionId !== this.#h.roomSessionId) return;
    // §R6.3 From our moderator, or a successor certified after the state we hold (one that missed the transfer).
    if (!equalBytes(moderator.signingKey, held.moderator) && !isCertifiedSuccessor(held, state, moderator.signingKey, this.#h.descriptorId)) return;
    if (state.version > held.version) replica.apply(state);
  }
}
