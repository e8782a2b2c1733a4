/**
 * Who the app sees (docs/PROTOCOL.md §R5.4, "membership is enforced by each receiver"): the room-session peers
 * whose signing key the state lists, surfaced as members. A peer the state does not list (yet) stays invisible;
 * its messages wait in a HoldBuffer (hold.ts) for a state that lists it. The Room feeds it the session's
 * presence; it reaches the rest through a MembersHost.
 */
import { SealsigError, equalBytes, type LeaveReason, type PeerInfo } from '@sealsig/core';
import type { EmitRoomEvent, Member } from './events.js';
import { HoldBuffer } from './hold.js';
import type { RosterEntry } from './replica.js';

/** What the members need of their room. */
export interface MembersHost {
  /** The roster entry the state lists for a member id. */
  entry(id: string): RosterEntry | undefined;
  /** The Ed25519 key of the moderator the state names. */
  moderator(): Uint8Array;
  /** A listed member came into sight (after its 'peer-joined'). */
  surfaced(member: Member): void;
  /** Refuses a member id at the core level for the session's life (core §8.5). */
  expel(id: string): void;
  /** Emits 'peer-joined' and 'peer-left'. */
  emit: EmitRoomEvent;
  /** Reports a dropped message. */
  report(e: SealsigError): void;
}

/** E_UNKNOWN_PEER for an app-given member id, without calling anything on it. */
export function noMember(id: unknown): SealsigError {
  return new SealsigError('E_UNKNOWN_PEER', `no member ${typeof id === 'string' ? id : typeof id} in the room`);
}

/** The members surfaced to the app, and the present peers not listed yet. */
export class Members {
  readonly #h: MembersHost;
  /** Surfaced members, by member id: the listed keys present, this member excluded. */
  readonly #surfaced = new Map<string, Member>();
  /** Present peers the state does not list (yet), by member id. */
  readonly #unlisted = new Map<string, PeerInfo>();
  readonly #held: HoldBuffer;

  constructor(host: MembersHost) {
    this.#h = host;
    this.#held = new HoldBuffer((e) => host.report(e));
  }

  /** The surfaced member with this id. */
  get(id: string): Member | undefined {
    return this.#surfaced.get(id);
  }

  /** Whether a member with this id is surfaced. */
  has(id: string): boolean {
    return this.#surfaced.has(id);
  }

  /** The ids of the surfaced members. */
  ids(): IterableIterator<string> {
    return this.#surfaced.keys();
  }

  /** The surfaced members. */
  list(): Member[] {
    return [...this.#surfaced.values()];
  }

  /** Whether the moderator is in sight. */
  moderatorPresent(): boolean {
    return this.list().some((m) => m.isModerator);
  }

  /** Keeps `deliver` until the peer is surfaced (hold.ts). */
  hold(id: string, deliver: () => void): void {
    this.#held.hold(id, deliver);
  }

  /** A peer came into sight: surfaced if the state lists its key, else kept aside until a state does. */
  surface(p: PeerInfo): void {
    if (this.#surfaced.has(p.id)) return;
    const entry = this.#h.entry(p.id);
    if (entry === undefined || !equalBytes(entry.key, p.signingKey)) {
      this.#unlisted.set(p.id, p); // not admitted (yet): invisible until a state lists it
      return;
    }
    this.#unlisted.delete(p.id);
    const member: Member = { id: p.id, name: entry.name, key: p.signingKey.slice(), isModerator: equalBytes(p.signingKey, this.#h.moderator()) };
    this.#surfaced.set(p.id, member);
    this.#h.emit('peer-joined', member);
    this.#held.release(p.id);
    this.#h.surfaced(member);
  }

  /** A peer left the session; returns the member it was, if it was surfaced. */
  left(id: string, reason: LeaveReason): Member | undefined {
    this.#held.forget(id);
    this.#unlisted.delete(id);
    const m = this.#surfaced.get(id);
    if (m === undefined) return undefined;
    this.#surfaced.delete(id);
    this.#h.emit('peer-left', { member: m, reason });
    return m;
  }

  /** §R5.4 A member id left the roster: kicked (and then expelled if present), or it left. */
  removed(id: string, kick: boolean): void {
    const member = this.#surfaced.get(id);
    this.#surfaced.delete(id);
    // A kicked member that is present is refused at the core level too (core §8.5). One that left may be
    // admitted again later, so it is only dropped from the roster.
    if (kick && member !== undefined) this.#h.expel(id);
    if (member) this.#h.emit('peer-left', { member, reason: kick ? 'kicked' : 'bye' });
  }

  /** A state was adopted: marks the moderator anew after a transfer, and surfaces the peers it now lists. */
  adopted(moderatorChanged: boolean): void {
    if (moderatorChanged) {
      const moderator = this.#h.moderator();
      for (const [id, m] of this.#surfaced) this.#surfaced.set(id, { ...m, isModerator: equalBytes(m.key, moderator) });
    }
    for (const p of [...this.#unlisted.values()]) this.surface(p);
  }
}
