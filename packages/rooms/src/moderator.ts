/**
 * The moderator's side of the room state (docs/PROTOCOL.md §R5.1, §R5.2, §R5.3, §R5.6, and the admission of
 * §R3): every commit (admitting a joiner, a member leaving, a kick, a rotation, new ICE servers, a transfer's
 * link) makes the next state and hands it out as a change, one signed broadcast or, with a new room key, one
 * paced pairwise frame per member (pacer.ts); members acknowledge, and those that do not are repaired with the
 * change again or the whole state. A new epoch is installed in the moderator's own session only once the
 * members present hold it (the epoch switch of §R5.3). The Room calls it while this member moderates; it
 * reaches the rest through a ModeratorHost.
 */
import { SealsigError, equalBytes, memzero, randomBytes, type Session } from '@sealsig/core';
import { applyChange, changeOf, type Edit } from './commits.js';
import { noMember } from './members.js';
import { checkIce, type RoomOptions } from './options.js';
import { Pacer } from './pacer.js';
import type { Replica, RosterEntry } from './replica.js';
import { MAX_MEMBERS, MAX_REASON_CHARS, Tag, copyState, toWire, type IceServer, type Message, type RoomState } from './wire.js';

const KICK_NOTICE_MS = 1_000;
/** Longest a moderator waits for members to acknowledge a new epoch before it sends under it (§R5.3). */
const EPOCH_SWITCH_MS = 2_000;

/** What the moderator's side needs of its room. */
export interface ModeratorHost {
  /** The room session: member ids, the broadcast and pairwise frames, the epoch it seals under. */
  readonly session: Pick<Session, 'memberIdOf' | 'broadcast' | 'send' | 'epoch' | 'installEpoch'>;
  /** This member's state, which every commit moves on. */
  readonly replica: Replica;
  /** The room's options: retryMs, moderation.rotateOnJoin, the transport (whose pacing paces the key frames). */
  readonly options: RoomOptions;
  /** The room session's id, handed to admitted joiners. */
  readonly roomSessionId: string;
  /** This member's Ed25519 public key. */
  readonly ownKey: Uint8Array;
  /** Whether the room is closed. */
  isClosed(): boolean;
  /** The ids of the surfaced members (listed and present, this member excluded). */
  present(): Iterable<string>;
  /** Whether a member id is surfaced. */
  isPresent(id: string): boolean;
  /** Sends a rooms message to a surfaced member over its pairwise channel. */
  sendTo(id: string, m: Message): Promise<void>;
  /** Reports a failed operation as the room's 'error'. */
  report(e: unknown): void;
}

/** Lets a timer not keep Node alive (browsers have no unref). */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

/** Commits, acknowledgements, repairs and the epoch switch, for the moderator (and idle otherwise). */
export class Moderator {
  readonly #h: ModeratorHost;
  /** Member id -> newest state version acknowledged. */
  readonly #acks = new Map<string, number>();
  /** Member id -> when it was last sent a change or a repair. */
  readonly #sentAt = new Map<string, number>();
  /** Member id -> the version it holds if every frame sent to it arrived (the change broadcast, a paced frame). */
  readonly #sent = new Map<string, number>();
  /** Member id -> pairwise frames (changes, repairs) sent to it since its acknowledged version last rose (§R5.3). */
  readonly #unanswered = new Map<string, number>();
  readonly #pacer: Pacer;
  /**
   * After a rotation: the new epoch, installed in the session only once the members present have acknowledged
   * it (or EPOCH_SWITCH_MS passed). Until then channels still set up under the old epoch's psk (core §7.3), so
   * a member without one can still be handed the key (§R5.3).
   */
  #pendingEpoch: { epoch: number; roomKey: Uint8Array; timer: ReturnType<typeof setTimeout> } | undefined;

  constructor(host: ModeratorHost) {
    this.#h = host;
    this.#pacer = new Pacer(host.options.transport.pacing);
  }

  /** E_CLOSED or E_ACCESS_DENIED unless this member moderates the open room. */
  mustModerate(): void {
    if (this.#h.isClosed()) throw new SealsigError('E_CLOSED', 'room is closed');
    if (!this.#h.replica.isModerator) throw new SealsigError('E_ACCESS_DENIED', 'only the moderator can do this');
  }

  /** The roster entry of an app-given member id; E_UNKNOWN_PEER if the state does not list it. */
  listed(memberId: string): RosterEntry {
    const entry = this.#h.replica.entry(memberId);
    if (entry === undefined) throw noMember(memberId);
    return entry;
  }

  /** §R5.6 Removes a member: it is told, the key rotates, it is banned and expelled. */
  async kick(memberId: string, reason: unknown): Promise<void> {
    this.mustModerate();
    const target = this.listed(memberId);
    if (equalBytes(target.key, this.#h.ownKey)) throw new SealsigError('E_INVALID_ARGUMENT', 'the moderator cannot kick itself');
    // The reason a kick carries (in the notice and in the ban list): the app's string, bounded, or the default.
    const why = (typeof reason === 'string' ? reason : 'removed by the moderator').slice(0, MAX_REASON_CHARS);
    if (this.#h.isPresent(memberId)) {
      // Tell it first (best effort: it may be gone or its channel slow), but never wait long on a member being removed.
      const notice = this.#h.sendTo(memberId, { tag: Tag.kicked, reason: why }).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([notice, new Promise((r) => (timer = setTimeout(r, KICK_NOTICE_MS)))]);
      clearTimeout(timer);
    }
    // Its goodbye may have taken it off the roster meanwhile: it is banned and the key rotates all the same.
    const listed = this.#h.replica.lists(target.key);
    this.commit({ remove: listed ? [target.key] : [], ban: [{ key: target.key.slice(), reason: why }], roomKey: randomBytes(32) });
  }

  /** §R5.1 A new epoch key for everyone in the room. */
  rotate(): void {
    this.mustModerate();
    this.commit({ roomKey: randomBytes(32) });
  }

  /** §R5.6 Hands ICE servers to every member, sealed inside the room. */
  setIceServers(iceServers: IceServer[]): void {
    this.mustModerate();
    this.commit({ iceServers: checkIce(iceServers) });
  }

  /** §R5.6 A surfaced member said goodbye: it leaves the roster (no rotation: rotate() shuts it out of later broadcasts). */
  onBye(key: Uint8Array): void {
    if (this.#h.replica.isModerator && !this.#h.isClosed() && this.#h.replica.lists(key)) this.commit({ remove: [key] });
  }

  /** §R3 Admits a joiner (the lobby desk's callback): the state to hand it, committed with its key if it is new. */
  async admit(key: Uint8Array, name: string): Promise<{ roomSessionId: string; state: RoomState }> {
    this.mustModerate();
    const { replica } = this.#h;
    const banned = replica.banReason(key);
    if (banned !== undefined) throw new SealsigError('E_ACCESS_DENIED', banned);
    const listed = replica.lists(key);
    if (!listed && replica.state.members.length >= MAX_MEMBERS) throw new SealsigError('E_ACCESS_DENIED', `the room is full (${MAX_MEMBERS} members)`);
    if (!listed) {
      this.commit({ add: [{ key: key.slice(), name }], ...(this.#h.options.moderation?.rotateOnJoin ? { roomKey: randomBytes(32) } : {}) });
      const id = this.#h.session.memberIdOf(key);
      this.#acks.set(id, replica.state.version); // the acceptance carries this state
      this.#sentAt.set(id, Date.now());
    }
    // A copy: the desk may send it after a later commit erased this epoch's key (a rotation, §R5.3).
    return { roomSessionId: this.#h.roomSessionId, state: copyState(replica.state) };
  }

  /**
   * §R5.2 The next state, applied here and handed out as a change. A change without a new key is one broadcast
   * (signed by this member, core §6.1) that every member reads; one with a new key goes to each remaining member
   * in a small pairwise frame, paced (§R5.3). Members acknowledge; repair() resends.
   */
  commit(edit: Edit): RoomState {
    this.#switchEpoch(); // a rotation still waiting takes effect first
    const { replica, session } = this.#h;
    const change = changeOf(replica.state, edit);
    const next = applyChange(replica.state, change); // a private copy, checked by the decoder members use
    replica.apply(next, true, change);
    const now = Date.now();
    if (change.roomKey === null) {
      void session.broadcast(toWire({ tag: Tag.change, change })).catch((e) => this.#h.report(e));
      for (const id of this.#h.present()) {
        this.#sentAt.set(id, now);
        this.#sent.set(id, next.version);
      }
    } else {
      for (const id of this.#h.present()) this.#pacer.push(id, () => this.#catchUp(id, true)); // the change, paced
      const timer = setTimeout(() => this.#switchEpoch(), EPOCH_SWITCH_MS);
      unref(timer);
      this.#pendingEpoch = { epoch: next.epoch, roomKey: next.roomKey.slice(), timer };
      this.#maybeSwitchEpoch();
    }
    return next;
  }

  /** §R5.3 A member acknowledged a state version. */
  onAck(id: string, version: number): void {
    if (version > (this.#acks.get(id) ?? 0)) {
      this.#acks.set(id, version);
      this.#unanswered.delete(id);
    }
    this.#maybeSwitchEpoch();
  }

  /** §R5.3 Switches to the pending epoch once every member present holds it. */
  #maybeSwitchEpoch(): void {
    const version = this.#h.replica.state.version;
    if (this.#pendingEpoch !== undefined && [...this.#h.present()].every((id) => (this.#acks.get(id) ?? 0) >= version)) this.#switchEpoch();
  }

  #switchEpoch(): void {
    const p = this.#pendingEpoch;
    if (p === undefined) return;
    this.#pendingEpoch = undefined;
    clearTimeout(p.timer);
    if (!this.#h.isClosed() && p.epoch > this.#h.session.epoch) this.#h.session.installEpoch(p.epoch, p.roomKey);
    memzero(p.roomKey);
  }

  /**
   * §R5.3 What a member lagging behind is sent when the pacer hands its frame over (not when it was queued: it
   * may have waited while acknowledgements came in): nothing if it holds the current version by now or is
   * gone, the last change if it is exactly one behind and that change made the current version, else the
   * whole state. So a member queued several times is sent one frame, and a member whose acknowledgement was
   * only late is sent none. One behind by what it acknowledged, for a repair; by what it was sent, for a
   * commit's own change (its acknowledgement of the previous version may still be on its way).
   */
  #catchUp(id: string, commit = false): void {
    if (this.#h.isClosed() || !this.#h.replica.isModerator || !this.#h.isPresent(id)) return;
    const { state, lastChange } = this.#h.replica;
    const acked = this.#acks.get(id) ?? 0;
    if (acked >= state.version) return;
    const holds = commit ? Math.max(acked, this.#sent.get(id) ?? 0) : acked;
    const m: Message = holds === state.version - 1 && lastChange?.version === state.version ? { tag: Tag.change, change: lastChange } : { tag: Tag.state, state };
    this.#sentAt.set(id, Date.now());
    this.#sent.set(id, state.version);
    this.#unanswered.set(id, (this.#unanswered.get(id) ?? 0) + 1);
    void this.#h.session.send(id, toWire(m)).catch(() => {}); // lost: repair() sends again
  }

  /**
   * §R5.3 A member that has not acknowledged the current state is queued for a repair once its wait passed: a
   * retry after the last frame it was sent, doubled for each further pairwise frame it left unanswered, up to 8
   * retries (like TCP's retransmission timer): a member whose acknowledgements are only slow (a loaded machine)
   * is not sent the same repair every retry, and one that is gone costs a frame every 8 retries at most.
   */
  repair(id: string, now = Date.now()): void {
    const acked = this.#acks.get(id) ?? 0;
    const wait = (this.#h.options.retryMs ?? 1_000) * 2 ** Math.min(Math.max(0, (this.#unanswered.get(id) ?? 0) - 1), 3);
    if (acked >= this.#h.replica.state.version || now - (this.#sentAt.get(id) ?? 0) < wait || this.#pacer.holds(id)) return; // one waiting frame is enough
    this.#pacer.push(id, () => this.#catchUp(id));
  }

  /** §R5.3 Every retry: repairs the members present that lag (while this member moderates). */
  retransmit(): void {
    if (this.#h.isClosed() || !this.#h.replica.isModerator) return;
    const now = Date.now();
    for (const id of this.#h.present()) this.repair(id, now);
  }

  /** §R6.1 Moderation came to this member: members acknowledge the transfer to it, so it repairs only those that do not, a retry period on. */
  tookOver(): void {
    const now = Date.now();
    for (const id of this.#h.present()) this.#sentAt.set(id, now);
  }

  /** A member id left the roster: what is known of its acknowledgements goes. */
  forget(id: string): void {
    this.#acks.delete(id);
    this.#sentAt.delete(id);
    this.#sent.delete(id);
    this.#unanswered.delete(id);
  }

  /** Drops the paced frames waiting and erases a pending epoch's key (the room is closing). */
  close(): void {
    this.#pacer.clear();
    if (this.#pendingEpoch !== undefined) {
      clearTimeout(this.#pendingEpoch.timer);
      memzero(this.#pendingEpoch.roomKey);
      this.#pendingEpoch = undefined;
    }
  }
}
