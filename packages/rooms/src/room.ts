/**
 * A room (docs/PROTOCOL.md §R): a core session whose membership the moderator controls. Members are the keys
 * listed in the moderator's room state (§R5); peers of the core session that are not listed are never shown
 * to the app and their messages are dropped. The state, and with it each epoch's room key, reaches members only
 * over pairwise channels, from the moderator, retransmitted until acknowledged.
 */
import {
  Emitter,
  SealsigError,
  equalBytes,
  Session,
  memzero,
  randomBytes,
  toHex,
  type Identity,
  type IceCandidate,
  type PeerInfo,
  type SessionDescription,
} from '@sealsig/core';
import { extendChain, isCertifiedSuccessor } from './chain.js';
import { applyChange, changeOf, receiveChange, receiveState, type Edit } from './commits.js';
import { AttemptLimiter } from './cpace/attempts.js';
import { publishDescriptor } from './descriptor.js';
import type { Member, RoomEvents } from './events.js';
import { encodeInvite, issueInvite, type Invite } from './invite.js';
import { descriptorIdOf } from './labels.js';
import { Pacer } from './pacer.js';
import { admitThroughLobby } from './join.js';
import { LobbyDesk } from './lobby-desk.js';
import { HoldBuffer } from './hold.js';
import { checkIce, eraseIdentity, type RoomOptions } from './options.js';
import { PrivilegeDesk } from './privilege-desk.js';
import { signPrivilegeRequest } from './privileges.js';
import {
  MAX_CHAIN,
  MAX_MEMBERS,
  MAX_REASON_CHARS,
  Tag,
  copyState,
  fromWire,
  toWire,
  type IceServer,
  type Message,
  type PrivilegeAction,
  type RoomState,
  type StateChange,
} from './wire.js';

interface Internals {
  session: Session;
  invite: Invite;
  roomSessionId: string;
  identity: Identity;
  state: RoomState;
  password: string | undefined;
  name: string;
  options: RoomOptions;
}

export class Room extends Emitter<RoomEvents> {
  /** This member's id in the room session. */
  readonly id: string;
  #session: Session;
  #invite: Invite; // the one this member joined with, or the latest it issued as moderator
  #descriptorId: Uint8Array;
  #roomSessionId: string;
  #identity: Identity;
  #state: RoomState;
  #password: string | undefined;
  #o: RoomOptions;
  #members = new Map<string, Member>(); // surfaced, by member id
  #roster = new Map<string, { key: Uint8Array; name: string }>(); // #state.members by member id
  #unlisted = new Map<string, PeerInfo>(); // present peers #state does not list (yet), by member id
  #acks = new Map<string, number>(); // moderator: member id -> newest state version acknowledged
  #sentAt = new Map<string, number>(); // moderator: member id -> when it was last sent a change or a repair
  #lastChange: StateChange | undefined; // the change that made #state: a member one version behind gets it again
  #pacer: Pacer;
  /**
   * Moderator, after a rotation: the new epoch, installed in the session only once the members present have
   * acknowledged it (or EPOCH_SWITCH_MS passed). Until then channels still set up under the old epoch's psk
   * (core §7.3), so a member without one can still be handed the key (§R5.3).
   */
  #pendingEpoch: { epoch: number; roomKey: Uint8Array; timer: ReturnType<typeof setTimeout> } | undefined;
  #lobby: Session | undefined;
  #desk: LobbyDesk | undefined;
  #limiter: AttemptLimiter | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #moderatorTimers: ReturnType<typeof setInterval>[] = [];
  #privileges: PrivilegeDesk<Member>;
  #held = new HoldBuffer((e) => this.#report(e)); // §R5
  #closed = false;
  #becoming: Promise<void> | undefined;
  #name: string;
  #resyncing = false;
  #resyncFailures = 0;
  #moderatorAbsentSince: number | undefined;

  /** Use createRoom() or joinRoom(). */
  constructor(i: Internals) {
    super();
    this.#session = i.session;
    this.#invite = i.invite;
    this.#roomSessionId = i.roomSessionId;
    this.#identity = i.identity;
    this.#state = i.state;
    this.#password = i.password;
    this.#o = i.options;
    this.#name = i.name;
    this.id = i.session.id;
    this.#descriptorId = descriptorIdOf(i.invite.sessionId);
    this.#pacer = new Pacer(i.options.controlPace);
    this.#indexRoster();
    this.#privileges = new PrivilegeDesk<Member>({
      roomTopic: i.session.topic,
      ownKey: i.identity.signing.publicKey,
      sign: (fields) => signPrivilegeRequest(this.#identity.signing.privateKey, fields),
      privileges: i.options.privileges ?? {},
      timeoutMs: i.options.privilegeTimeoutMs ?? 15_000,
      send: (to, m) => this.#sendTo(to.id, m),
      granted: (e) => this.emit('privilege', e),
      denied: ({ action, owner, streamId }) => this.emit('state', { name: action === 'stop' ? 'stop-request-denied' : 'mute-request-denied', owner, streamId }),
      report: (e) => this.#report(e),
    });
  }

  /** @internal */
  async start(): Promise<void> {
    const s = this.#session;
    s.on('peer-joined', (p) => this.#surface(p));
    s.on('peer-left', ({ peer, reason }) => {
      this.#held.forget(peer.id);
      this.#unlisted.delete(peer.id);
      const m = this.#members.get(peer.id);
      if (m === undefined) return;
      this.#members.delete(peer.id);
      this.emit('peer-left', { member: m, reason });
      // §R5 A member that said goodbye leaves the roster (no rotation: call rotate() to shut it out of later broadcasts).
      if (reason === 'bye' && this.isModerator && !this.#closed) {
        if (this.#state.members.some((x) => equalBytes(x.key, m.key))) this.#commit({ remove: [m.key] });
      }
    });
    s.on('message', ({ from, value, broadcast }) => this.#onMessage(from, value, broadcast));
    s.on('signal', (signal) => {
      if (this.#members.has(signal.from.id)) this.#emitSignal(signal);
      else this.#held.hold(signal.from.id, () => this.#emitSignal(signal));
    });
    s.on('error', (e) => this.emit('error', e));
    s.on('epoch', (e) => this.emit('epoch', e));
    await s.start();
    const retry = setInterval(() => this.#retransmit(), this.#o.retryMs ?? 1_000);
    const resync = setInterval(() => this.#maybeResync(), RESYNC_CHECK_MS);
    unref(retry);
    unref(resync);
    this.#timers.push(retry, resync);
    if (this.isModerator) await this.#becomeModerator();
  }

  // --- what the app reads -----------------------------------------------------------------------------

  /** Whether this member is the moderator now. */
  get isModerator(): boolean {
    return equalBytes(this.#state.moderator, this.#identity.signing.publicKey);
  }

  /**
   * The invite to share (§R2). For the moderator, one it issued: pinning its own key and chain position, valid
   * for `moderation.inviteTtlMs` (a fresh one once that has run out or moderation changed hands). For other
   * members, the invite they joined with: ask the moderator for a current one (old ones may have expired).
   */
  get invite(): string {
    if (this.isModerator && !this.#closed) {
      const i = this.#invite;
      if (!equalBytes(i.moderatorKey, this.#state.moderator) || i.expiresAt <= Date.now()) {
        this.#invite = issueInvite(i.sessionId, this.#state, i.passwordRequired, this.#o.moderation?.inviteTtlMs);
      }
    }
    return encodeInvite(this.#invite);
  }

  /** Moderator: a new invite pinning this moderator's key and chain position (§R6), valid for `ttlMs` (default `moderation.inviteTtlMs`, 7 days). */
  createInvite(ttlMs?: number): string {
    this.#mustModerate();
    if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1000)) throw new SealsigError('E_INVALID_ARGUMENT', 'ttlMs must be an integer of at least 1000');
    return encodeInvite(issueInvite(this.#invite.sessionId, this.#state, this.#invite.passwordRequired, ttlMs ?? this.#o.moderation?.inviteTtlMs));
  }

  /** The moderator's Ed25519 public key. */
  get moderatorKey(): Uint8Array {
    return this.#state.moderator.slice();
  }

  /** Live members (the moderator's roster ∩ who is present), this member excluded. */
  get members(): Member[] {
    return [...this.#members.values()];
  }

  /** Everyone the moderator admitted, present or not: names and keys. */
  get roster(): {
    /** Ed25519 public key. */
    key: Uint8Array;
    /** Display name. */
    name: string;
  }[] {
    return this.#state.members.map((m) => ({ key: m.key.slice(), name: m.name }));
  }

  /** The room's epoch (§R5): the one its current state names. A moderator's session switches to it once members hold its key. */
  get epoch(): number {
    return this.#state.epoch;
  }

  /** ICE servers the moderator handed out, sealed inside the room (pass them to RTCPeerConnection). */
  get iceServers(): IceServer[] {
    return this.#state.iceServers.map((s) => ({ ...s }));
  }

  /**
   * Advanced: the underlying core session of the room. Receivers enforce every rule of the rooms layer, so this
   * grants nothing a member's own keys do not; but values sent on it bypass the rooms layer's framing.
   */
  get session(): Session {
    return this.#session;
  }

  /** This member's Ed25519 public key. */
  get key(): Uint8Array {
    return this.#identity.signing.publicKey.slice();
  }

  /** Whether the room is closed (close(), a kick, or a failed join). */
  get closed(): boolean {
    return this.#closed;
  }

  // --- messaging (as core's Session, restricted to admitted members) --------------------------------

  /** Sends any msgpack-able value to one admitted member over its pairwise channel. */
  send(memberId: string, value: unknown): Promise<void> {
    return this.#sendTo(memberId, { tag: Tag.app, value });
  }

  /** Sends any msgpack-able value to every member (sealed with the room key of the current epoch). */
  broadcast(value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'room is closed'));
    return this.#session.broadcast(toWire({ tag: Tag.app, value }));
  }

  /** Sends an RTCSessionDescriptionInit to one admitted member. */
  sendDescription(memberId: string, description: SessionDescription): Promise<void> {
    if (!this.#members.has(memberId)) return Promise.reject(new SealsigError('E_UNKNOWN_PEER', `no member ${show(memberId)} in the room`));
    return this.#session.sendDescription(memberId, description);
  }

  /** Sends an RTCIceCandidateInit (or null) to one admitted member. */
  sendCandidate(memberId: string, candidate: IceCandidate | null): Promise<void> {
    if (!this.#members.has(memberId)) return Promise.reject(new SealsigError('E_UNKNOWN_PEER', `no member ${show(memberId)} in the room`));
    return this.#session.sendCandidate(memberId, candidate);
  }

  // --- privileges (§R8) ------------------------------------------------------------------------------

  /** Asks the owner of a stream we receive to stop it. Resolves 'granted' or 'denied' (also a 'state' event). */
  requestStop(ownerId: string, streamId: string): Promise<'granted' | 'denied'> {
    return this.#requestPrivilege('stop', ownerId, streamId);
  }

  /** Asks the owner of a stream we receive to mute it. */
  requestMute(ownerId: string, streamId: string): Promise<'granted' | 'denied'> {
    return this.#requestPrivilege('mute', ownerId, streamId);
  }

  #requestPrivilege(action: PrivilegeAction, ownerId: string, streamId: string): Promise<'granted' | 'denied'> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'room is closed'));
    const owner = this.#members.get(ownerId);
    if (owner === undefined) return Promise.reject(new SealsigError('E_UNKNOWN_PEER', `no member ${show(ownerId)} in the room`));
    return this.#privileges.request(action, owner, streamId);
  }

  // --- moderation (§R5, §R6) -------------------------------------------------------------------------

  /** Removes a member: it is told, expelled, and the epoch key rotates for everyone else. Moderator only. */
  async kick(memberId: string, reason = 'removed by the moderator'): Promise<void> {
    this.#mustModerate();
    const target = this.#rosterEntry(memberId);
    if (equalBytes(target.key, this.#identity.signing.publicKey)) throw new SealsigError('E_INVALID_ARGUMENT', 'the moderator cannot kick itself');
    const why = kickReason(reason);
    if (this.#members.has(memberId)) {
      // Tell it first (best effort: it may be gone or its channel slow), but never wait long on a member being removed.
      const notice = this.#sendTo(memberId, { tag: Tag.kicked, reason: why }).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([notice, new Promise((r) => (timer = setTimeout(r, KICK_NOTICE_MS)))]);
      clearTimeout(timer);
    }
    // Its goodbye may have taken it off the roster meanwhile: it is banned and the key rotates all the same.
    const listed = this.#state.members.some((m) => equalBytes(m.key, target.key));
    this.#commit({ remove: listed ? [target.key] : [], ban: [{ key: target.key.slice(), reason: why }], roomKey: randomBytes(32) });
  }

  /** A new epoch key for everyone in the room. Moderator only. */
  rotate(): void {
    this.#mustModerate();
    this.#commit({ roomKey: randomBytes(32) });
  }

  /** Hands ICE servers (TURN credentials) to every member, sealed inside the room. Moderator only. */
  setIceServers(iceServers: IceServer[]): void {
    this.#mustModerate();
    this.#commit({ iceServers: checkIce(iceServers) });
  }

  /** Makes another member the moderator (§R6). This member stays, as a member. */
  async transferModeration(memberId: string): Promise<void> {
    this.#mustModerate();
    const target = this.#rosterEntry(memberId);
    if (!this.#members.has(memberId)) throw new SealsigError('E_UNKNOWN_PEER', 'the new moderator must be present');
    if (this.#state.chain.length >= MAX_CHAIN) throw new SealsigError('E_INVALID_ARGUMENT', `a room can change moderator at most ${MAX_CHAIN} times`);
    await this.#becoming; // a moderator still starting up finishes first
    const s = this.#state;
    const chain = extendChain(s.chain, this.#descriptorId, this.#identity.signing.privateKey, target.key, s.version + 1, s.epoch);
    this.#commit({ link: chain[chain.length - 1]! });
    await this.#resign(false);
  }

  #mustModerate(): void {
    if (this.#closed) throw new SealsigError('E_CLOSED', 'room is closed');
    if (!this.isModerator) throw new SealsigError('E_ACCESS_DENIED', 'only the moderator can do this');
  }

  #rosterEntry(memberId: string): { key: Uint8Array; name: string } {
    const entry = this.#state.members.find((m) => this.#session.memberIdOf(m.key) === memberId);
    if (entry === undefined) throw new SealsigError('E_UNKNOWN_PEER', `no member ${show(memberId)} in the room`);
    return entry;
  }

  /**
   * §R6 A state from a moderator this member has not heard of yet (it missed the transfer): accepted if its
   * sender is its moderator, certified by a chain that extends the chain this member holds, each new link
   * verifying from this member's moderator and made after the state it holds (a link made earlier is stale:
   * its signer was no longer the moderator). A former moderator cannot make such a chain back to itself.
   */
  #isCertifiedSuccessor(state: RoomState, sender: Uint8Array): boolean {
    return isCertifiedSuccessor(this.#state, state, sender, this.#descriptorId);
  }

  /** §R6 This member's anchor in the chain: the moderator its state names, after its chain's links. */
  #ownPin(): { key: Uint8Array; index: number } {
    return { key: this.#state.moderator, index: this.#state.chain.length };
  }

  /** §R5 Why this key was kicked, or undefined if it was not. */
  #banReason(key: Uint8Array): string | undefined {
    return this.#state.banned.find((b) => equalBytes(b.key, key))?.reason;
  }

  /**
   * §R5.2 Moderator: the next state, applied here and handed out as a change. A change without a new key is
   * one broadcast (signed by this member, core §6.1) that every member reads; one with a new key goes to each
   * remaining member in a small pairwise frame, paced (§R5.3). Members acknowledge; #repair resends.
   */
  #commit(edit: Edit): RoomState {
    this.#switchEpoch(); // a rotation still waiting takes effect first
    const change = changeOf(this.#state, edit);
    const next = applyChange(this.#state, change); // a private copy, checked by the decoder members use
    this.#keepChange(change);
    this.#apply(next, true, change);
    const now = Date.now();
    if (change.roomKey === null) {
      void this.#session.broadcast(toWire({ tag: Tag.change, change })).catch((e) => this.#report(e));
      for (const id of this.#members.keys()) this.#sentAt.set(id, now);
    } else {
      for (const id of this.#members.keys()) this.#sendPaced(id, { tag: Tag.change, change }, now);
      const timer = setTimeout(() => this.#switchEpoch(), EPOCH_SWITCH_MS);
      unref(timer);
      this.#pendingEpoch = { epoch: next.epoch, roomKey: next.roomKey.slice(), timer };
      this.#maybeSwitchEpoch();
    }
    return next;
  }

  /** §R5.3 Moderator: switches to the pending epoch once every member present holds it. */
  #maybeSwitchEpoch(): void {
    const version = this.#state.version;
    if (this.#pendingEpoch !== undefined && [...this.#members.keys()].every((id) => (this.#acks.get(id) ?? 0) >= version)) this.#switchEpoch();
  }

  #switchEpoch(): void {
    const p = this.#pendingEpoch;
    if (p === undefined) return;
    this.#pendingEpoch = undefined;
    clearTimeout(p.timer);
    if (!this.#closed && p.epoch > this.#session.epoch) this.#session.installEpoch(p.epoch, p.roomKey);
    memzero(p.roomKey);
  }

  #keepChange(change: StateChange): void {
    if (this.#lastChange?.roomKey) memzero(this.#lastChange.roomKey);
    this.#lastChange = change;
  }

  #sendPaced(id: string, m: Message, now: number): void {
    this.#sentAt.set(id, now);
    const wire = toWire(m);
    this.#pacer.push(id, () => void this.#session.send(id, wire).catch(() => {})); // lost: #repair resends
  }

  /** §R5.3 Moderator: a member that has not acknowledged the current state gets it again, as the last change if it is one behind, else whole. */
  #repair(id: string, now = Date.now()): void {
    const version = this.#state.version;
    const acked = this.#acks.get(id) ?? 0;
    if (acked >= version || now - (this.#sentAt.get(id) ?? 0) < (this.#o.retryMs ?? 1_000)) return;
    const last = this.#lastChange;
    const m: Message = acked === version - 1 && last?.version === version ? { tag: Tag.change, change: last } : { tag: Tag.state, state: this.#state };
    this.#sendPaced(id, m, now);
  }

  /** Admits a joiner (the desk's callback). */
  async #admit(key: Uint8Array, name: string): Promise<{ roomSessionId: string; state: RoomState }> {
    this.#mustModerate();
    const banned = this.#banReason(key);
    if (banned !== undefined) throw new SealsigError('E_ACCESS_DENIED', banned);
    const listed = this.#state.members.some((m) => equalBytes(m.key, key));
    if (!listed && this.#state.members.length >= MAX_MEMBERS) throw new SealsigError('E_ACCESS_DENIED', `the room is full (${MAX_MEMBERS} members)`);
    if (!listed) {
      this.#commit({ add: [{ key: key.slice(), name }], ...(this.#o.moderation?.rotateOnJoin ? { roomKey: randomBytes(32) } : {}) });
      const id = this.#session.memberIdOf(key);
      this.#acks.set(id, this.#state.version); // the acceptance carries this state
      this.#sentAt.set(id, Date.now());
    }
    // A copy: the desk may send it after a later commit erased this epoch's key (a rotation, §R5.3).
    return { roomSessionId: this.#roomSessionId, state: copyState(this.#state) };
  }

  #retransmit(): void {
    if (this.#closed || !this.isModerator) return;
    // #members is exactly the present peers the state lists, this member excluded (#apply and #surface keep it so).
    const now = Date.now();
    for (const id of this.#members.keys()) this.#repair(id, now);
  }

  /**
   * Applies a newer state (from the moderator, or committed here). With the change that made it, the work is
   * O(size of the change) (§R5.2); a whole state (a repair, a resync) is compared member by member.
   */
  #apply(next: RoomState, committedHere = false, change?: StateChange): void {
    const previous = this.#state;
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
      for (const k of removed) this.#roster.delete(this.#session.memberIdOf(k));
      for (const m of change.add) this.#roster.set(this.#session.memberIdOf(m.key), m);
    } else this.#indexRoster();
    for (const key of removed) {
      const id = this.#session.memberIdOf(key);
      const member = this.#members.get(id);
      this.#members.delete(id);
      this.#acks.delete(id);
      this.#sentAt.delete(id);
      // A kicked member that is present is refused at the core level too (core §8.5). One that left may be
      // admitted again later, so it is only dropped from the roster.
      if (kick && member !== undefined) this.#session.expel(id);
      if (member) this.emit('peer-left', { member, reason: kick ? 'kicked' : 'bye' });
    }
    // A rotation committed here waits in #pendingEpoch (#commit); one handed to us takes effect at once.
    if (!committedHere && next.epoch > this.#session.epoch) this.#session.installEpoch(next.epoch, next.roomKey);
    if (previous.roomKey !== next.roomKey) memzero(previous.roomKey);
    if ((change === undefined || change.iceServers !== null) && JSON.stringify(previous.iceServers) !== JSON.stringify(next.iceServers)) {
      this.emit('ice-servers', { iceServers: this.iceServers });
    }
    const moderatorChanged = !equalBytes(previous.moderator, next.moderator);
    if (moderatorChanged) for (const [id, m] of this.#members) this.#members.set(id, { ...m, isModerator: equalBytes(m.key, next.moderator) });
    for (const p of [...this.#unlisted.values()]) this.#surface(p);
    if (moderatorChanged) {
      this.emit('moderator', { key: next.moderator.slice(), self: this.isModerator });
      if (this.isModerator) {
        const now = Date.now(); // members acknowledge the transfer to us: repair only those that do not, a retry period on
        for (const id of this.#members.keys()) this.#sentAt.set(id, now);
        this.#becoming = this.#becomeModerator().catch((e) => this.#report(e));
      } else if (this.#desk !== undefined && !committedHere) void Promise.resolve(this.#becoming).then(() => this.#resign(false));
    }
  }

  /** Rebuilds #roster from #state (a whole state arrived). */
  #indexRoster(): void {
    this.#roster.clear();
    for (const m of this.#state.members) this.#roster.set(this.#session.memberIdOf(m.key), m);
  }

  async #becomeModerator(): Promise<void> {
    if (this.#desk !== undefined || this.#closed) return;
    const mod = this.#o.moderation ?? {};
    this.#limiter ??= new AttemptLimiter(mod.attempts);
    const lobby = new Session({ ...this.#o.session, sessionId: this.#invite.sessionId, transport: this.#o.transport, identity: this.#identity });
    const desk = new LobbyDesk({
      lobby,
      password: this.#invite.passwordRequired ? this.#password : undefined,
      limiter: this.#limiter,
      mode: mod.admit ?? 'ask',
      decisionTimeoutMs: mod.decisionTimeoutMs ?? 60_000,
      chain: () => this.#state.chain,
      banReason: (key) => this.#banReason(key),
      isMember: (key) => this.#state.members.some((m) => equalBytes(m.key, key)),
      ask: (request) => {
        if (this.listenerCount('join-request') === 0) return false;
        this.emit('join-request', request);
        return true;
      },
      admit: (key, name) => this.#admit(key, name),
      report: (e) => this.#report(e),
    });
    this.#lobby = lobby;
    this.#desk = desk;
    await lobby.start();
    if (this.#closed || !this.isModerator) return; // close() or a transfer came meanwhile: they wait for us, then resign
    desk.announce();
    if (mod.rotateEveryMs !== undefined) {
      const t = setInterval(() => this.isModerator && this.rotate(), mod.rotateEveryMs);
      unref(t);
      this.#moderatorTimers.push(t);
    }
    if (mod.refreshIceServers !== undefined) {
      const { fetch, everyMs } = mod.refreshIceServers;
      const refresh = async () => {
        const servers = checkIce(await fetch());
        if (this.isModerator && !this.#closed && JSON.stringify(servers) !== JSON.stringify(this.#state.iceServers)) this.setIceServers(servers);
      };
      const run = () => void refresh().catch((e) => this.#report(e));
      run();
      const t = setInterval(run, Math.max(1_000, everyMs));
      unref(t);
      this.#moderatorTimers.push(t);
    }
    if (this.#o.descriptor !== undefined) {
      const d = this.#o.descriptor;
      const publish = () =>
        publishDescriptor(d, this.#invite, this.#identity.signing.privateKey, this.#state.moderator, this.#state.chain).catch((e) => this.#report(e));
      void publish();
      const t = setInterval(publish, Math.max(1_000, Math.floor((d.ttlMs ?? 60_000) / 2)));
      unref(t);
      this.#moderatorTimers.push(t);
    }
  }

  /** Stops moderating: on a transfer (the successor publishes the descriptor now), or leaving (`closing`: says "not live"). */
  async #resign(closing: boolean): Promise<void> {
    for (const t of this.#moderatorTimers.splice(0)) clearInterval(t);
    const d = this.#o.descriptor;
    if (closing && d !== undefined && this.#desk !== undefined && this.isModerator) {
      await publishDescriptor(d, this.#invite, this.#identity.signing.privateKey, this.#state.moderator, this.#state.chain, false).catch((e) => this.#report(e));
    }
    this.#desk?.close();
    this.#desk = undefined;
    const lobby = this.#lobby;
    this.#lobby = undefined;
    await lobby?.close();
  }

  // --- receiving ---------------------------------------------------------------------------------------

  #surface(p: PeerInfo): void {
    if (this.#members.has(p.id)) return;
    const entry = this.#roster.get(p.id);
    if (entry === undefined || !equalBytes(entry.key, p.signingKey)) {
      this.#unlisted.set(p.id, p); // not admitted (yet): invisible until a state lists it
      return;
    }
    this.#unlisted.delete(p.id);
    const member: Member = { id: p.id, name: entry.name, key: p.signingKey.slice(), isModerator: equalBytes(p.signingKey, this.#state.moderator) };
    this.#members.set(p.id, member);
    this.emit('peer-joined', member);
    this.#held.release(p.id);
    if (this.isModerator) this.#repair(p.id);
    // Our moderator in sight: tell it which state we hold. This also sets up our channel to it now, during our
    // own join, so later commits cost each member just the frames it reads (§R5.3).
    else if (member.isModerator) void this.#ack().catch(() => {});
  }

  #emitSignal({ from, description, candidate }: { from: PeerInfo; description?: SessionDescription; candidate?: IceCandidate | null }): void {
    const m = this.#members.get(from.id);
    if (m === undefined) return;
    const e: RoomEvents['signal'] = { from: m };
    if (description !== undefined) e.description = description;
    if (candidate !== undefined) e.candidate = candidate;
    this.emit('signal', e);
  }

  #onMessage(from: PeerInfo, value: unknown, broadcast: boolean): void {
    const member = this.#members.get(from.id);
    if (member === undefined) return this.#held.hold(from.id, () => this.#onMessage(from, value, broadcast));
    let m: Message;
    try {
      m = fromWire(value);
    } catch (e) {
      return this.#report(e);
    }
    if (m.tag === Tag.app) return this.emit('message', { from: member, value: m.value, broadcast });
    if (broadcast && m.tag !== Tag.change) return this.#report(new SealsigError('E_FRAME_MALFORMED', 'rooms control message in a broadcast'));
    void this.#onControl(member, m, broadcast).catch((e) => this.#report(e));
  }

  async #onControl(from: Member, m: Message, broadcast: boolean): Promise<void> {
    const fromModerator = equalBytes(from.key, this.#state.moderator);
    switch (m.tag) {
      case Tag.state: {
        const state = receiveState(this.#state, m.state, from.key, this.#descriptorId); // decoded from this frame: our own copy
        if (state !== undefined) {
          if (!state.members.some((x) => equalBytes(x.key, this.#identity.signing.publicKey))) return this.#kicked(this.#banReasonIn(state) ?? 'removed from the room');
          this.#apply(state);
        }
        return this.#ack();
      }
      case Tag.change:
        return this.#onChange(from, m.change, broadcast);
      case Tag.stateAck:
        if (m.version > (this.#acks.get(from.id) ?? 0)) this.#acks.set(from.id, m.version);
        return this.#maybeSwitchEpoch();
      case Tag.kicked:
        if (!fromModerator) throw new SealsigError('E_ACCESS_DENIED', 'kick from a member that is not the moderator');
        return this.#kicked(m.reason);
      case Tag.privilegeRequest:
        return this.#privileges.onRequest(from, m);
      case Tag.privilegeResponse:
        return this.#privileges.onResponse(from, m);
      default:
        throw new SealsigError('E_FRAME_MALFORMED', `rooms message ${m.tag} does not belong in a room`);
    }
  }

  /**
   * §R5.2 A change from the moderator (or, for a transfer, from the successor it names). Applied only on top of
   * the state it follows; otherwise this member acknowledges what it holds and the moderator repairs.
   */
  #onChange(from: Member, change: StateChange, broadcast: boolean): Promise<void> {
    const next = receiveChange(this.#state, change, from.key, broadcast, this.#descriptorId);
    if (next === undefined) return this.#ack(); // a duplicate, or a gap the moderator repairs
    if (!next.members.some((x) => equalBytes(x.key, this.#identity.signing.publicKey))) {
      this.#kicked(this.#banReasonIn(next) ?? 'removed from the room');
      return Promise.resolve();
    }
    this.#keepChange(change);
    this.#apply(next, false, change);
    return this.#ack();
  }

  /** Tells the moderator which state this member holds (§R5.3). */
  async #ack(): Promise<void> {
    const id = this.#session.memberIdOf(this.#state.moderator);
    if (this.#members.has(id)) await this.#sendTo(id, { tag: Tag.stateAck, version: this.#state.version });
  }

  /** The reason a state gives for this member's ban, if it lists one. */
  #banReasonIn(state: RoomState): string | undefined {
    return state.banned.find((b) => equalBytes(b.key, this.#identity.signing.publicKey))?.reason;
  }

  /**
   * §R5 Resynchronisation. A member that missed states for longer than the epoch grace period can no longer
   * read the moderator's hellos (nor the moderator its own), so the room's channel to it is gone for good.
   * When the moderator has been out of sight for a while, the member asks again through the lobby, as a
   * listed member: the moderator answers with the current state without asking its app. Backs off while the
   * moderator stays away; a kicked member learns it this way if it missed the notice.
   */
  #maybeResync(): void {
    if (this.#closed || this.isModerator || this.#resyncing) return;
    const now = Date.now();
    if ([...this.#members.values()].some((m) => m.isModerator)) {
      this.#moderatorAbsentSince = undefined;
      this.#resyncFailures = 0;
      return;
    }
    this.#moderatorAbsentSince ??= now;
    const wait = (this.#o.resyncAfterMs ?? 5_000) * 2 ** Math.min(this.#resyncFailures, 4);
    if (now - this.#moderatorAbsentSince < wait) return;
    this.#resyncing = true;
    void this.#resync()
      .then(
        () => (this.#resyncFailures = 0),
        (e: unknown) => {
          this.#resyncFailures++;
          // Only our moderator's explicit refusal of this key is a kick ('busy' or 'timeout' are not). The
          // lobby asked nobody else: it pins our moderator (a former one still holds the key old invites pin).
          const r = e as { rejectCode?: string; reason?: string };
          if (e instanceof SealsigError && r.rejectCode === 'rejected') this.#kicked(r.reason ?? e.message);
        },
      )
      .finally(() => {
        this.#resyncing = false;
        this.#moderatorAbsentSince = Date.now();
      });
  }

  async #resync(): Promise<void> {
    const lobbyOptions = { ...this.#o.session, sessionId: this.#invite.sessionId, transport: this.#o.transport, identity: this.#identity };
    const { roomSessionId, state, moderator } = await admitThroughLobby(lobbyOptions, this.#invite, {
      name: this.#name,
      appData: null,
      password: this.#invite.passwordRequired ? this.#password : undefined,
      timeoutMs: RESYNC_TIMEOUT_MS,
      retryMs: this.#o.retryMs ?? 1_000,
      ownKey: this.#identity.signing.publicKey,
      pin: this.#ownPin(),
      after: this.#state.version,
    });
    if (this.#closed || roomSessionId !== this.#roomSessionId) return;
    if (!equalBytes(moderator.signingKey, this.#state.moderator) && !this.#isCertifiedSuccessor(state, moderator.signingKey)) return;
    if (state.version > this.#state.version) this.#apply(state);
  }

  #kicked(reason: string): void {
    if (this.#closed) return;
    this.emit('kicked', { reason });
    void this.close();
  }

  #sendTo(memberId: string, m: Message): Promise<void> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'room is closed'));
    if (!this.#members.has(memberId)) return Promise.reject(new SealsigError('E_UNKNOWN_PEER', `no member ${show(memberId)} in the room`));
    return this.#session.send(memberId, toWire(m));
  }

  #report(e: unknown): void {
    if (this.#closed) return;
    this.emit('error', e instanceof SealsigError ? e : new SealsigError('E_FRAME_MALFORMED', 'rooms failure', { cause: e }));
  }

  /** Leaves the room (and the lobby, for a moderator) and erases every key. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers.splice(0)) clearInterval(t);
    await this.#becoming;
    await this.#resign(true);
    this.#privileges.close();
    this.#pacer.clear();
    if (this.#pendingEpoch !== undefined) {
      clearTimeout(this.#pendingEpoch.timer);
      memzero(this.#pendingEpoch.roomKey);
      this.#pendingEpoch = undefined;
    }
    if (this.#lastChange?.roomKey) memzero(this.#lastChange.roomKey);
    await this.#session.close();
    memzero(this.#state.roomKey);
    eraseIdentity(this.#identity);
    this.#password = undefined;
    this.emit('closed', undefined);
    this.removeAllListeners();
  }
}

// --- helpers ------------------------------------------------------------------------------------------

const KICK_NOTICE_MS = 1_000;
/** Longest a moderator waits for members to acknowledge a new epoch before it sends under it (§R5.3). */
const EPOCH_SWITCH_MS = 2_000;
const RESYNC_CHECK_MS = 1_000;
const RESYNC_TIMEOUT_MS = 10_000;

/** The reason a kick carries (in the notice and in the ban list): the app's string, bounded, or the default. */
function kickReason(reason: unknown): string {
  return (typeof reason === 'string' ? reason : 'removed by the moderator').slice(0, MAX_REASON_CHARS);
}

/** An app-given id for an error message, without calling anything on it. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : typeof v;
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
