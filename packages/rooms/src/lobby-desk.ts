/**
 * The moderator's desk in the lobby (docs/PROTOCOL.md §R3, §R4): receives join requests over pairwise
 * channels, runs the password check, asks the app, and answers. Idempotent on retransmissions: a request
 * with a nonce already seen gets the stored answer again, never a second decision.
 */
import { SealsigError, equalBytes, fromHex, toHex, type PeerInfo, type Session } from '@sealsig/core';
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
}

interface Record {
  peer: PeerInfo;
  nonce: string;
  name: string;
  appData: unknown;
  phase: 'password' | 'deciding' | 'decided';
  /** The verified invite's id (hex), or MEMBERS for a listed key. */
  invite: string;
  /** The answer to repeat: a challenge or a rejection. An acceptance is rebuilt each time (the room key may have rotated). */
  answer?: Message;
  accepted?: boolean;
  expected?: Uint8Array;
  ticket?: AttemptTicket;
  timer?: ReturnType<typeof setTimeout>;
  until: number;
}

const MAX_RECORDS = 64;
const ANNOUNCE_MS = 3_000;
const KEEP_DECIDED_MS = 150_000; // a decided nonce is answered again for max_age + max_future_skew (core §8.1)

export class LobbyDesk {
  readonly #o: DeskOptions;
  readonly #records = new Map<string, Record>(); // by joiner member id
  #closed = false;
  #announcer: ReturnType<typeof setInterval>;

  constructor(options: DeskOptions) {
    this.#o = options;
    const { lobby } = options;
    lobby.on('message', ({ from, value, broadcast }) => {
      if (broadcast) return;
      void this.#onMessage(from, value).catch((e) => this.#o.report(e));
    });
    lobby.on('peer-joined', () => this.announce());
    lobby.on('peer-left', ({ peer }) => this.#drop(peer.id));
    // Announcements can be lost like any frame: repeat them while joiners may be listening.
    this.#announcer = setInterval(() => lobby.peers.length > 0 && this.announce(), ANNOUNCE_MS);
    (this.#announcer as { unref?: () => void }).unref?.();
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
    for (const id of [...this.#records.keys()]) this.#drop(id);
  }

  async #onMessage(from: PeerInfo, value: unknown): Promise<void> {
    const m = fromWire(value);
    const now = Date.now();
    for (const [id, r] of this.#records) if (r.phase === 'decided' && r.until <= now) this.#records.delete(id);
    let r = this.#records.get(from.id);
    if (r !== undefined && r.peer.instance !== from.instance) {
      this.#drop(from.id);
      r = undefined;
    }
    if (m.tag === Tag.joinRequest) {
      const nonce = toHex(m.nonce);
      if (r !== undefined && r.nonce === nonce) {
        await this.#repeat(r);
        return;
      }
      if (r !== undefined) this.#drop(from.id);
      // §R3 The invite first: an unlisted key needs one its moderator signed, unexpired and not revoked.
      const listed = this.#o.isMember(from.signingKey);
      const refusal = listed ? undefined : this.#o.checkGrant(m.grant);
      if (refusal === undefined && this.#records.size >= MAX_RECORDS && !listed) {
        await this.#o.lobby.send(from.id, toWire({ tag: Tag.joinRejected, nonce: m.nonce, code: 'busy', reason: 'too many pending requests' }));
        return;
      }
      const invite = listed || m.grant === null ? MEMBERS : toHex(m.grant.id);
      r = { peer: from, nonce, name: m.name, appData: m.appData, phase: 'deciding', invite, until: now + KEEP_DECIDED_MS };
      this.#records.set(from.id, r);
      if (refusal !== undefined) return this.#decide(r, refusal.code, refusal.reason);
      const banned = this.#o.banReason(from.signingKey);
      if (banned !== undefined) return this.#decide(r, 'rejected', banned);
      if (this.#o.password === undefined) return this.#ask(r, false);
      if (m.share === null) return this.#decide(r, 'wrong-password', 'this room needs a password');
      let ticket: AttemptTicket;
      try {
        ticket = this.#o.limiter.begin(from.id, r.invite);
      } catch (e) {
        if (e instanceof SealsigError && e.code === 'E_RATE_LIMITED') return this.#decide(r, 'rate-limited', 'too many password attempts; retry later');
        throw e;
      }
      r.phase = 'password';
      r.ticket = ticket;
      try {
        const run = await moderatorCpace(this.#o.password, this.#channel(from), m.nonce, m.share);
        r.expected = run.expected;
        r.answer = { tag: Tag.joinChallenge, nonce: m.nonce, share: run.share, confirm: run.confirm };
      } catch {
        return this.#decide(r, 'wrong-password', 'invalid password share');
      }
      r.timer = setTimeout(() => this.#decide(r!, 'timeout', 'no key confirmation in time'), this.#o.decisionTimeoutMs);
      await this.#send(r, r.answer);
      return;
    }
    if (m.tag === Tag.joinConfirm) {
      if (r === undefined || r.nonce !== toHex(m.nonce)) return;
      if (r.phase !== 'password') {
        if (r.phase === 'decided') await this.#repeat(r);
        return;
      }
      if (r.expected === undefined) return; // our CPace run is still computing: the joiner will repeat it
      clearTimeout(r.timer);
      if (!equalBytes(m.confirm, r.expected)) return this.#decide(r, 'wrong-password', 'wrong password');
      r.ticket!.succeed();
      r.phase = 'deciding';
      return this.#ask(r, true);
    }
    // Anything else in the lobby is not for the desk.
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
        if (settled || r.phase !== 'deciding') return;
        settled = true;
        void this.#accept(r);
      },
      reject: (reason = 'rejected by the moderator') => {
        if (settled || r.phase !== 'deciding') return;
        settled = true;
        this.#decide(r, 'rejected', (typeof reason === 'string' ? reason : 'rejected by the moderator').slice(0, MAX_REASON_CHARS));
      },
    });
    r.timer = setTimeout(() => {
      if (settled || r.phase !== 'deciding') return;
      settled = true;
      this.#decide(r, 'timeout', 'the moderator did not answer in time');
    }, this.#o.decisionTimeoutMs);
    if (this.#o.mode === 'auto' || this.#o.isMember(r.peer.signingKey)) return request.accept();
    if (!this.#o.ask(request)) request.reject('nobody is there to decide');
  }

  /** Admits (or, `again`, re-sends the admission of an accepted joiner with the current state). */
  async #accept(r: Record, again = false): Promise<void> {
    clearTimeout(r.timer);
    if (this.#closed || this.#records.get(r.peer.id) !== r || (again && !r.accepted)) return;
    const nonce = fromHex(r.nonce);
    try {
      const { roomSessionId, state } = await this.#o.admit(r.peer.signingKey, r.name);
      r.phase = 'decided';
      r.accepted = true;
      r.until = Date.now() + KEEP_DECIDED_MS;
      r.answer = undefined;
      await this.#send(r, { tag: Tag.joinAccepted, nonce, roomSessionId, state });
    } catch (e) {
      if (e instanceof SealsigError && e.code === 'E_ACCESS_DENIED') return this.#decide(r, 'rejected', e.message);
      this.#o.report(e);
      this.#decide(r, 'busy', 'the room could not admit');
    }
  }

  /** A retransmitted request or confirmation: the same answer again, never a second decision. */
  async #repeat(r: Record): Promise<void> {
    if (r.accepted) {
      // Only a joiner still listed gets the (current) state again; one that has left since must ask anew.
      if (this.#o.isMember(r.peer.signingKey)) return this.#accept(r, true);
      return this.#decide(r, 'rejected', 'no longer a member of this room; ask again');
    }
    if (r.answer) await this.#send(r, r.answer);
  }

  #decide(r: Record, code: RejectCode, reason: string): void {
    clearTimeout(r.timer);
    r.until = Date.now() + KEEP_DECIDED_MS;
    r.accepted = false;
    if (r.phase === 'password') r.ticket?.fail(); // an unfinished password run stays counted and frees its slot
    r.phase = 'decided';
    r.answer = { tag: Tag.joinRejected, nonce: fromHex(r.nonce), code, reason };
    void this.#send(r, r.answer).catch((e) => this.#o.report(e));
  }

  async #send(r: Record, m: Message): Promise<void> {
    if (this.#closed) return;
    await this.#o.lobby.send(r.peer.id, toWire(m)).catch((e) => {
      if (!(e instanceof SealsigError && e.code === 'E_UNKNOWN_PEER')) throw e;
    });
  }

  #drop(id: string): void {
    const r = this.#records.get(id);
    if (r === undefined) return;
    clearTimeout(r.timer);
    if (r.phase === 'password') r.ticket?.fail();
    this.#records.delete(id);
  }
}

