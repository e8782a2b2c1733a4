/**
 * A member's replica of the room state (docs/PROTOCOL.md §R5.2, §R5.3, §R5.4): the state it holds, its roster
 * indexed by member id, and the change that made it. It takes the changes and whole states its moderator (or a
 * successor that moderator certified, §R6.3) hands out, acknowledges each (§R5.3), and adopts a newer state
 * (§R5.4): keys no longer listed are reported gone, a new epoch is installed and the old room key erased. The
 * moderator's own commits are adopted here too. The Room feeds it messages; it reaches the rest through a
 * ReplicaHost.
 */
import { equalBytes, memzero, toHex, type Session } from '@sealsig/core';
import { receiveChange, receiveState } from './commits.js';
import { Tag, type Message, type RoomState, type StateChange } from './wire.js';

/** What the replica needs of its room. */
export interface ReplicaHost {
  /** The room session: member ids (core §3.5) and the epoch it seals under. */
  readonly session: Pick<Session, 'memberIdOf' | 'epoch' | 'installEpoch'>;
  /** This member's Ed25519 public key. */
  readonly ownKey: Uint8Array;
  /** The room's descriptor id (§R2), to which the moderator chain is bound (§R6.1). */
  readonly descriptorId: Uint8Array;
  /** Whether a member id is surfaced (listed and present): only then can it be sent to. */
  isPresent(id: string): boolean;
  /** Sends a rooms message to a surfaced member over its pairwise channel. */
  sendTo(id: string, m: Message): Promise<void>;
  /** A member id left the roster: kicked when the epoch rose with it, else it left (§R5.4). */
  removed(id: string, kick: boolean): void;
  /** The room's ICE servers changed. */
  iceServersChanged(): void;
  /** A state was adopted (after the calls above): `moderatorChanged` on a transfer, `committedHere` for our own commit. */
  adopted(moderatorChanged: boolean, committedHere: boolean): void;
  /** A state no longer lists this member: it was removed, for this reason (§R5.2 step 6). */
  kicked(reason: string): void;
}

/** A roster entry: an admitted key and its display name. */
export interface RosterEntry {
  /** Ed25519 public key. */
  key: Uint8Array;
  /** Display name. */
  name: string;
}

/** This member's copy of the room state, kept by the rules of §R5.2 and §R5.4. */
export class Replica {
  readonly #h: ReplicaHost;
  #state: RoomState;
  /** #state.members by member id. */
  readonly #roster = new Map<string, RosterEntry>();
  /** The change that made #state: a member one version behind gets it again (§R5.3). */
  #lastChange: StateChange | undefined;

  constructor(state: RoomState, host: ReplicaHost) {
    this.#h = host;
    this.#state = state;
    this.#indexRoster();
  }

  /** The state this member holds (the room's own: never hand it out, copy it). */
  get state(): RoomState {
    return this.#state;
  }

  /** The change that made the state, if it came as one. */
  get lastChange(): StateChange | undefined {
    return this.#lastChange;
  }

  /** Whether the state names this member as the moderator. */
  get isModerator(): boolean {
    return equalBytes(this.#state.moderator, this.#h.ownKey);
  }

  /** The roster entry of a member id, if the state lists it. */
  entry(id: string): RosterEntry | undefined {
    return this.#roster.get(id);
  }

  /** Whether `state` (the one held, by default) lists this key. */
  lists(key: Uint8Array, state = this.#state): boolean {
    return state.members.some((m) => equalBytes(m.key, key));
  }

  /** §R5.1 The reason `state` (the one held, by default) gives for banning this key, or undefined if it does not. */
  banReason(key: Uint8Array, state = this.#state): string | undefined {
    return state.banned.find((b) => equalBytes(b.key, key))?.reason;
  }

  /** §R5.2 A whole state (a repair) from the peer with this key. */
  async onState(sender: Uint8Array, state: RoomState): Promise<void> {
    const next = receiveState(this.#state, state, sender, this.#h.descriptorId); // decoded from this frame: our own copy
    if (next === undefined && state.version < this.#state.version) return; // older than ours: no news for the moderator (§R5.3)
    if (next !== undefined && !this.#follow(next)) return;
    return this.ack();
  }

  /**
   * §R5.2 A change from the moderator (or, for a transfer, from the successor it names). Applied only on top of
   * the state it follows; otherwise this member acknowledges what it holds and the moderator repairs.
   */
  async onChange(sender: Uint8Array, change: StateChange, broadcast: boolean): Promise<void> {
    const next = receiveChange(this.#state, change, sender, broadcast, this.#h.descriptorId);
    // undefined: a duplicate, or a gap the moderator repairs
    if (next === undefined && change.version < this.#state.version) return; // a replayed old broadcast: no ack (§R5.3)
    if (next !== undefined && !this.#follow(next, change)) return;
    return this.ack();
  }

  /** Adopts a state handed to this member, unless it no longer lists it (then it was removed: false). */
  #follow(next: RoomState, change?: StateChange): boolean {
    const own = this.#h.ownKey;
    if (!this.lists(own, next)) {
      this.#h.kicked(this.banReason(own, next) ?? 'removed from the room');
      return false;
    }
    this.apply(next, false, change);
    return true;
  }

  /** Tells the moderator which state this member holds (§R5.3). */
  async ack(): Promise<void> {
    const id = this.#h.session.memberIdOf(this.#state.moderator);
    if (this.#h.isPresent(id)) await this.#h.sendTo(id, { tag: Tag.stateAck, version: this.#state.version });
  }

  /**
   * Adopts a newer state (from the moderator, or committed here) and keeps the change that made it. With that
   * change, the work is O(size of the change) (§R5.2); a whole state (a repair, a resync) is compared member by
   * member.
   */
  apply(next: RoomState, committedHere = false, change?: StateChange): void {
    if (change !== undefined) {
      if (this.#lastChange?.roomKey) memzero(this.#lastChange.roomKey);
      this.#lastChange = change;
    }
    const previous = this.#state;
    const { session } = this.#h;
    // A removal that comes with a new epoch is a kick (§R5); one without is a member that left.
    const kick = next.epoch > previous.epoch;
    let removed: Uint8Array[];
    if (change !== undefined) removed = change.remove;
    else {
      const kept = new Set(next.members.map((m) => toHex(m.key)));
      removed = previous.members.filter((m) => !kept.has(toHex(m.key))).map((m) => m.key);
    }
    this.#state = next;
    if (change !== undefined) {
      for (const k of removed) this.#roster.delete(session.memberIdOf(k));
      for (const m of change.add) this.#roster.set(session.memberIdOf(m.key), m);
    } else this.#indexRoster();
    for (const key of removed) this.#h.removed(session.memberIdOf(key), kick);
    // A rotation committed here waits for the moderator's epoch switch (moderator.ts); one handed to us takes effect at once.
    if (!committedHere && next.epoch > session.epoch) session.installEpoch(next.epoch, next.roomKey);
    if (previous.roomKey !== next.roomKey) memzero(previous.roomKey);
    if ((change === undefined || change.iceServers !== null) && JSON.stringify(previous.iceServers) !== JSON.stringify(next.iceServers)) {
      this.#h.iceServersChanged();
    }
    this.#h.adopted(!equalBytes(previous.moderator, next.moderator), committedHere);
  }

  /** Erases the room keys held: the state's and the last change's (the room is closing). */
  erase(): void {
    if (this.#lastChange?.roomKey) memzero(this.#lastChange.roomKey);
    memzero(this.#state.roomKey);
  }

  /** Rebuilds #roster from #state (a whole state arrived). */
  #indexRoster(): void {
    this.#roster.clear();
    for (const m of this.#state.members) this.#roster.set(this.#h.session.memberIdOf(m.key), m);
  }
}
