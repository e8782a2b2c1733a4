/**
 * The moderator's desk in the lobby (docs/PROTOCOL.md §R3, §R4): receives join requests over pairwise
 * channels, checks the invite's grant first (§R2), runs the password check, asks the app, and answers.
 * Idempotent on retransmissions: a request with a nonce already seen gets the stored answer again (from its
 * pending record, or from the tombstone a decided one leaves, desk-pool.ts), never a second decision. Pending
 * requests are bounded per invite and in all, and dropped when their joiner stops retransmitting, so that one
 * party cannot fill the desk.
 */
import { SealsigError, equalBytes, toHex, type PeerInfo, type Session } from '@sealsig/core';
import { DeskPool, tombstoneKey, type DeskLimits, type Pending, type StoredAnswer } from './desk-pool.js';
import { AttemptLimiter, MEMBERS, type AttemptTicket } from './cpace/attempts.js';
import type { GrantRefusal } from './invite-grant.js';
import { moderatorCpace } from './password.js';
import { Tag, fromWire, toWire, MAX_REASON_CHARS, type ChainLink, type InviteGrant, type Message, type RejectCode, type RoomState } from './wire.js';

/** A join request as the moderator's app sees it. Decide once: later calls are ignored. */
export interface JoinRequest {
  /** The joiner's member id in the lobby. */
  readonly id: string;
  /** The joiner's display name. */
  readonly name: string;
  /** The joiner's app data (JoinRoomOptions.appData), or null. */
  readonly appData: unknown;
  /** The joiner's Ed25519 public key: its identity in the room. */
  readonly key: Uint8Array;
  /** The id (hex) of the invite the joiner came with, verified (§R2); null for a key the room state lists (a member resynchronising). */
  readonly inviteId: string | null;
  /** True in a password room: the joiner proved the password (CPace with key confirmation) before this. */
  readonly passwordVerified: boolean;
  /** Admits the joiner. */
  accept(): void;
  /** Refuses the joiner, with an optional reason it is told. */
  reject(reason?: string): void;
}

export interface DeskOptions {
  lobby: Session;
  password: string | undefined;
  limiter: AttemptLimiter;
  mode: 'ask' | 'auto';
  decisionTimeoutMs: number;
  /** The chain certifying this moderator (empty for the invite's pinned key). */
  chain: () => ChainLink[];
  /** §R2 The grant's check (invite-grant.ts checkGrant against the current state): undefined to go on. */
  checkGrant(grant: InviteGrant | null): GrantRefusal | undefined;
  /** Keys already listed in the room: a member resynchronising (§R5) is answered without asking. */
  isMember(key: Uint8Array): boolean;
  /** Why this key was kicked from the room (the moderator's reason), or undefined: kicked keys' requests are refused without asking. */
  banReason(key: Uint8Array): string | undefined;
  /** Shows the request to the app; false when nobody listens. */
  ask(request: JoinRequest): boolean;
  /** Adds the joiner to the room; resolves with what the joiner needs. */
  admit(key: Uint8Array, name: string): Promise<{ roomSessionId: string; state: RoomState }>;
  report(e: unknown): void;
  /** The pool's bounds (tests); default DESK_LIMITS. */
  limits?: Partial<DeskLimits>;
}

/** A pending request: a password run, or the app deciding. */
interface Record extends Pending {
  peer: PeerInfo;
  nonce: Uint8Array;
  /** Its tombstone key, once decided. */
  key: string;
  name: string;
  appData: unknown;
  phase: 'password' | 'deciding';
  /** The challenge to repeat while the password run is under way. */
  challenge?: Message;
  expected?: Uint8Array;
  ticket?: AttemptTicket;
  timer?: ReturnType<typeof setTimeout>;
}

const ANNOUNCE_MS = 3_000;

export class LobbyDesk {
  readonly #o: DeskOptions;
  readonly #pool: DeskPool<Record>;
  #closed = false;
  #announcer: ReturnType<typeof setInterval>;

  constructor(options: DeskOptions) {
    this.#o = options;
    this.#pool = new DeskPool(options.limits);
    const { lobby } = options;
    lobby.on('message', ({ from, value, broadcast }) => {
      if (broadcast) return;
      void this.#onMessage(from, value).catch((e) => this.#o.report(e));
    });
    lobby.on('peer-joined', () => this.announce());
    lobby.on('peer-left', ({ peer }) => this.#release(this.#pool.remove(peer.id)));
    // Announcements can be lost like any frame: repeat them while joiners may be listening. Idle requests go on the same beat.
    this.#announcer = setInterval(() => {
      this.#sweep();
      if (lobby.peers.length > 0) this.announce();
    }, ANNOUNCE_MS);
    (this.#announcer as { unref?: () => void }).unref?.();
  }

  /** Pending requests, in all or under one invite (hex id). */
  pending(invite?: string): number {
    return this.#pool.pending(invite);
  }

  /** §R6 A certified successor says who it is, so that joiners holding the original invite find it. */
  announce(): void {
    if (this.#closed) return;
    const chain = this.#o.chain();
    if (chain.length > 0) void this.#o.lobby.broadcast(toWire({ tag: Tag.moderator, chain })).catch((e) => this.#o.report(e));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#announcer);
    for (const r of this.#pool.clear()) this.#release(r);
  }

  async #onMessage(from: PeerInfo, value: unknown): Promise<void> {
    const m = fromWire(value);
    if (m.tag !== Tag.joinRequest && m.tag !== Tag.joinConfirm) return; // anything else in the lobby is not for the desk
    const now = Date.now();
    this.#sweep(now);
    let r = this.#pool.get(from.id);
    if (r !== undefined && r.peer.instance !== from.instance) {
      this.#release(this.#pool.remove(from.id)); // a new instance of the joiner: its old request is gone with the old one
      r = undefined;
    }
    if (r !== undefined && equalBytes(r.nonce, m.nonce)) {
      this.#pool.heard(r, now); // a retransmission: the joiner is still there
      if (m.tag === Tag.joinRequest) return void (r.challenge && (await this.#send(r.peer, r.challenge)));
      return this.#confirm(r, m.confirm);
    }
    const key = tombstoneKey(from.id, from.instance, m.nonce);
    const stored = this.#pool.answer(key, now);
    if (stored !== undefined) return this.#repeat(from, m.nonce, key, stored);
    if (m.tag === Tag.joinRequest) return this.#request(from, m, key, now);
  }

  /** §R3 A new request: the invite first, then room in the pool, the ban list, the password, the app. */
  async #request(from: PeerInfo, m: Extract<Message, { tag: typeof Tag.joinRequest }>, key: string, now: number): Promise<void> {
    this.#release(this.#pool.remove(from.id)); // a new nonce replaces the joiner's earlier request
    const listed = this.#o.isMember(from.signingKey);
    const refusal = listed ? undefined : this.#o.checkGrant(m.grant);
    if (refusal !== undefined) return this.#settle(from, m.nonce, key, { accepted: false, code: refusal.code, reason: refusal.reason });
    const invite = listed || m.grant === null ? MEMBERS : toHex(m.grant.id);
    const room = this.#pool.room(invite, listed);
    if (room !== 'ok') {
      // Not a decision: nothing is kept, and the joiner may ask again later.
      const reason = room === 'invite-full' ? 'too many pending requests for this invite' : 'too many pending requests';
      return this.#send(from, { tag: Tag.joinRejected, nonce: m.nonce, code: 'busy', reason });
    }
    const r: Record = { memberId: from.id, invite, heardAt: now, peer: from, nonce: m.nonce, key, name: m.name, appData: m.appData, phase: 'deciding' };
    this.#pool.add(r);
    const banned = this.#o.banReason(from.signingKey);
    if (banned !== undefined) return this.#decide(r, 'rejected', banned);
    if (this.#o.password === undefined) return this.#ask(r, false);
    if (m.share === null) return this.#decide(r, 'wrong-password', 'this room needs a password');
    let ticket: AttemptTicket;
    try {
      ticket = this.#o.limiter.begin(from.id, invite);
    } catch (e) {
      if (e instanceof SealsigError && e.code === 'E_RATE_LIMITED') return this.#decide(r, 'rate-limited', 'too many password attempts; retry later');
      throw e;
    }
    r.phase = 'password';
    r.ticket = ticket;
    try {
      const run = await moderatorCpace(this.#o.password, this.#channel(from), m.nonce, m.share);
      r.expected = run.expected;
      r.challenge = { tag: Tag.joinChallenge, nonce: m.nonce, share: run.share, confirm: run.confirm };
    } catch {
      return this.#decide(r, 'wrong-password', 'invalid password share');
    }
    if (this.#pool.get(from.id) !== r) return; // dropped while we computed (gone, idle, replaced): its ticket is settled
    r.timer = setTimeout(() => this.#decide(r, 'timeout', 'no key confirmation in time'), this.#o.decisionTimeoutMs);
    await this.#send(from, r.challenge);
  }

  /** §R4 The joiner's key confirmation for a pending request. */
  #confirm(r: Record, confirm: Uint8Array): void {
    if (r.phase !== 'password' || r.expected === undefined) return; // deciding already, or our CPace run still computing: it repeats
    clearTimeout(r.timer);
    if (!equalBytes(confirm, r.expected)) return this.#decide(r, 'wrong-password', 'wrong password');
    r.ticket!.succeed();
    r.ticket = undefined;
    r.phase = 'deciding';
    r.challenge = undefined;
    this.#ask(r, true);
  }

  #channel(joiner: PeerInfo) {
    const { lobby } = this.#o;
    return { lobbyTopic: lobby.topic, joinerId: joiner.id, joinerInstance: joiner.instance, moderatorId: lobby.id, moderatorInstance: lobby.instance };
  }

  #ask(r: Record, passwordVerified: boolean): void {
    let settled = false;
    const request: JoinRequest = Object.freeze({
      id: r.peer.id,
      name: r.name,
      appData: r.appData,
      key: r.peer.signingKey.slice(),
      inviteId: r.invite === MEMBERS ? null : r.invite,
      passwordVerified,
      accept: () => {
        if (settled || this.#pool.get(r.memberId) !== r) return;
        settled = true;
        void this.#accept(r);
      },
      reject: (reason = 'rejected by the moderator') => {
        if (settled || this.#pool.get(r.memberId) !== r) return;
        settled = true;
        this.#decide(r, 'rejected', (typeof reason === 'string' ? reason : 'rejected by the moderator').slice(0, MAX_REASON_CHARS));
      },
    });
    r.timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.#decide(r, 'timeout', 'the moderator did not answer in time');
    }, this.#o.decisionTimeoutMs);
    if (this.#o.mode === 'auto' || this.#o.isMember(r.peer.signingKey)) return request.accept();
    if (!this.#o.ask(request)) request.reject('nobody is there to decide');
  }

  /** Admits a pending request: its record leaves the pool, a tombstone remembers the acceptance. */
  async #accept(r: Record): Promise<void> {
    clearTimeout(r.timer);
    if (this.#closed || this.#pool.get(r.memberId) !== r) return;
    let admitted: { roomSessionId: string; state: RoomState };
    try {
      admitted = await this.#o.admit(r.peer.signingKey, r.name);
    } catch (e) {
      if (e instanceof SealsigError && e.code === 'E_ACCESS_DENIED') return this.#decide(r, 'rejected', e.message.slice(0, MAX_REASON_CHARS));
      this.#o.report(e);
      return this.#decide(r, 'busy', 'the room could not admit');
    }
    if (this.#pool.get(r.memberId) === r) this.#pool.remove(r.memberId);
    this.#pool.settle(r.key, { accepted: true }, Date.now());
    await this.#send(r.peer, { tag: Tag.joinAccepted, nonce: r.nonce, ...admitted });
  }

  /** A retransmitted request or confirmation of a decided request: the stored answer again, never a second decision. */
  async #repeat(peer: PeerInfo, nonce: Uint8Array, key: string, stored: StoredAnswer): Promise<void> {
    if (!stored.accepted) return this.#send(peer, { tag: Tag.joinRejected, nonce, code: stored.code, reason: stored.reason });
    // Only a joiner still listed gets the (current) state again; one that has left since must ask anew.
    if (!this.#o.isMember(peer.signingKey)) return this.#settle(peer, nonce, key, { accepted: false, code: 'rejected', reason: 'no longer a member of this room; ask again' });
    try {
      await this.#send(peer, { tag: Tag.joinAccepted, nonce, ...(await this.#o.admit(peer.signingKey, '')) }); // listed: no commit
    } catch (e) {
      this.#o.report(e);
    }
  }

  /** Decides a pending request: it leaves the pool (an unfinished password run stays counted and frees its slot). */
  #decide(r: Record, code: RejectCode, reason: string): void {
    if (this.#pool.get(r.memberId) === r) this.#pool.remove(r.memberId);
    this.#release(r);
    void this.#settle(r.peer, r.nonce, r.key, { accepted: false, code, reason }).catch((e) => this.#o.report(e));
  }

  /** Keeps a refusal's tombstone and sends it. */
  async #settle(peer: PeerInfo, nonce: Uint8Array, key: string, answer: StoredAnswer & { accepted: false }): Promise<void> {
    this.#pool.settle(key, answer, Date.now());
    await this.#send(peer, { tag: Tag.joinRejected, nonce, code: answer.code, reason: answer.reason });
  }

  async #send(peer: PeerInfo, m: Message): Promise<void> {
    if (this.#closed) return;
    await this.#o.lobby.send(peer.id, toWire(m)).catch((e) => {
      if (!(e instanceof SealsigError && e.code === 'E_UNKNOWN_PEER')) throw e;
    });
  }

  /** Drops pending requests whose joiner stopped retransmitting (§R3). */
  #sweep(now = Date.now()): void {
    for (const r of this.#pool.sweep(now)) this.#release(r);
  }

  /** A pending record's timer and password slot, released (its attempt stays counted). */
  #release(r: Record | undefined): void {
    if (r === undefined) return;
    clearTimeout(r.timer);
    r.ticket?.fail();
    r.ticket = undefined;
  }
}
