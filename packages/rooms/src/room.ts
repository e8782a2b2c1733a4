/**
 * A room (docs/PROTOCOL.md §R): a core session whose membership the moderator controls. Members are the keys
 * listed in the moderator's room state (§R5); peers of the core session that are not listed are never shown
 * to the app and their messages are dropped. The state, and with it each epoch's room key, reaches members only
 * over pairwise channels, from the moderator, retransmitted until acknowledged.
 *
 * Room is the facade the app holds: it routes the session's events and the rooms messages (§R1) to the objects
 * that implement each part, and wires them through their host interfaces:
 *
 * - Replica (replica.ts): this member's copy of the state, changes and states applied, acks (§R5.2 to §R5.4);
 * - Members (members.ts): who the app sees, the roster ∩ who is present (§R5.4);
 * - Moderator (moderator.ts): commits, repairs, pacing and the epoch switch, admission, kick (§R5, §R3);
 * - Handover (handover.ts): the moderator's lobby desk and timers, and the transfer of moderation (§R6, §R7);
 * - Resync (resync.ts): asking the lobby again when the moderator stays out of sight (§R5.5);
 * - PrivilegeDesk (privilege-desk.ts): stop and mute requests (§R8).
 */
import { Emitter, SealsigError, equalBytes, type IceCandidate, type Identity, type PeerInfo, type Session, type SessionDescription } from '@sealsig/core';
import type { Member, RoomEvents } from './events.js';
import { Handover } from './handover.js';
import { encodeInvite, type Invite } from './invite.js';
import { descriptorIdOf } from './labels.js';
import { Members, noMember } from './members.js';
import { Moderator, unref } from './moderator.js';
import { eraseIdentity, type RoomOptions } from './options.js';
import { PrivilegeDesk } from './privilege-desk.js';
import { signPrivilegeRequest } from './privileges.js';
import { Replica } from './replica.js';
import { RESYNC_CHECK_MS, Resync } from './resync.js';
import { RoomInvites } from './room-invites.js';
import { Tag, fromWire, toWire, type IceServer, type Message, type PrivilegeAction, type RoomState } from './wire.js';

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

/** A room this member is in: its members, messages and signaling, and, for the moderator, moderation (§R). */
export class Room extends Emitter<RoomEvents> {
  /** This member's id in the room session. */
  readonly id: string;
  #session: Session;
  #invites: RoomInvites;
  #identity: Identity;
  #password: string | undefined;
  #o: RoomOptions;
  #replica: Replica;
  #members: Members;
  #moderator: Moderator;
  #handover: Handover;
  #resync: Resync;
  #privileges: PrivilegeDesk<Member>;
  #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;

  /** Use createRoom() or joinRoom(). */
  constructor(i: Internals) {
    super();
    this.#session = i.session;
    this.#identity = i.identity;
    this.#password = i.password;
    this.#o = i.options;
    this.id = i.session.id;
    const descriptorId = descriptorIdOf(i.invite.sessionId);
    const ownKey = i.identity.signing.publicKey;
    const isClosed = () => this.#closed;
    const isPresent = (id: string) => this.#members.has(id);
    const sendTo = (id: string, m: Message) => this.#sendTo(id, m);
    const report = (e: unknown) => this.#report(e);
    const lobbyOptions = () => ({ ...this.#o.session, sessionId: i.invite.sessionId, transport: this.#o.transport, identity: this.#identity });
    const password = () => (i.invite.passwordRequired ? this.#password : undefined);
    const replica = (this.#replica = new Replica(i.state, {
      session: i.session,
      ownKey,
      descriptorId,
      isPresent,
      sendTo,
      removed: (id, kick) => {
        this.#moderator.forget(id);
        this.#members.removed(id, kick);
      },
      iceServersChanged: () => this.emit('ice-servers', { iceServers: this.iceServers }),
      adopted: (moderatorChanged, committedHere) => this.#adopted(moderatorChanged, committedHere),
      kicked: (reason) => this.#kicked(reason),
    }));
    this.#members = new Members({
      entry: (id) => replica.entry(id),
      moderator: () => replica.state.moderator,
      surfaced: (member) => {
        if (replica.isModerator) this.#moderator.repair(member.id);
        // Our moderator in sight: tell it which state we hold. This also sets up our channel to it now, during our
        // own join, so later commits cost each member just the frames it reads (§R5.3).
        else if (member.isModerator) void replica.ack().catch(() => {});
      },
      expel: (id) => i.session.expel(id),
      emit: (type, event) => this.emit(type, event),
      report,
    });
    const present = () => this.#members.ids();
    const moderator = (this.#moderator = new Moderator({ session: i.session, replica, options: i.options, roomSessionId: i.roomSessionId, ownKey, isClosed, present, isPresent, sendTo, report }));
    this.#invites = new RoomInvites(i.invite, {
      replica,
      moderator,
      signingSecret: () => this.#identity.signing.privateKey,
      ttlMs: () => this.#o.moderation?.inviteTtlMs,
    });
    this.#handover = new Handover({
      identity: i.identity,
      options: i.options,
      replica,
      moderator,
      descriptorId,
      invite: () => this.#invites.held,
      lobbyOptions,
      password,
      isClosed,
      isPresent,
      ask: (request) => {
        if (this.listenerCount('join-request') === 0) return false;
        this.emit('join-request', request);
        return true;
      },
      report,
    });
    this.#resync = new Resync({
      replica,
      options: i.options,
      roomSessionId: i.roomSessionId,
      descriptorId,
      name: i.name,
      ownKey,
      invite: () => this.#invites.held,
      lobbyOptions,
      password,
      isClosed,
      moderatorPresent: () => this.#members.moderatorPresent(),
      kicked: (reason) => this.#kicked(reason),
    });
    this.#privileges = new PrivilegeDesk<Member>({
      roomTopic: i.session.topic,
      ownKey,
      sign: (fields) => signPrivilegeRequest(this.#identity.signing.privateKey, fields),
      privileges: i.options.privileges ?? {},
      timeoutMs: i.options.privilegeTimeoutMs ?? 15_000,
      send: (to, m) => this.#sendTo(to.id, m),
      granted: (e) => this.emit('privilege', e),
      denied: ({ action, owner, streamId }) => this.emit('state', { name: action === 'stop' ? 'stop-request-denied' : 'mute-request-denied', owner, streamId }),
      report,
    });
  }

  /** @internal */
  async start(): Promise<void> {
    const s = this.#session;
    s.on('peer-joined', (p) => this.#members.surface(p));
    s.on('peer-left', ({ peer, reason }) => {
      const m = this.#members.left(peer.id, reason);
      if (m !== undefined && reason === 'bye') this.#moderator.onBye(m.key);
    });
    s.on('message', ({ from, value, broadcast }) => this.#onMessage(from, value, broadcast));
    s.on('signal', (signal) => {
      if (this.#members.has(signal.from.id)) this.#emitSignal(signal);
      else this.#members.hold(signal.from.id, () => this.#emitSignal(signal));
    });
    s.on('error', (e) => this.emit('error', e));
    s.on('epoch', (e) => this.emit('epoch', e));
    await s.start();
    const retry = setInterval(() => this.#moderator.retransmit(), this.#o.retryMs ?? 1_000);
    const resync = setInterval(() => this.#resync.check(), RESYNC_CHECK_MS);
    unref(retry);
    unref(resync);
    this.#timers.push(retry, resync);
    if (this.isModerator) await this.#handover.enter();
  }

  // --- what the app reads -----------------------------------------------------------------------------

  /** Whether this member is the moderator now. */
  get isModerator(): boolean {
    return this.#replica.isModerator;
  }

  /**
   * The invite to share (§R2): for the moderator, its current signed invite (valid for `moderation.inviteTtlMs`,
   * issued again once expired, revoked, or moderation changed hands); for others, the one they joined with.
   */
  get invite(): string {
    return this.#closed ? encodeInvite(this.#invites.held) : this.#invites.current();
  }

  /** Moderator: a new signed invite with its own id, pinning this moderator (§R2), valid for `ttlMs` (≥ 1 s; default `moderation.inviteTtlMs`, 7 days). */
  createInvite(ttlMs?: number): string {
    return this.#invites.create(ttlMs);
  }

  /** Moderator: revokes an invite of this room for every moderator to come (§R5.1); false if nothing changed (revoked already, or expired). E_QUEUE_FULL past 64. */
  revokeInvite(invite: string | Invite): boolean {
    return this.#invites.revoke(invite);
  }

  /** The moderator's Ed25519 public key. */
  get moderatorKey(): Uint8Array {
    return this.#replica.state.moderator.slice();
  }

  /** Live members (the moderator's roster ∩ who is present), this member excluded. */
  get members(): Member[] {
    return this.#members.list();
  }

  /** Everyone the moderator admitted, present or not: names and keys. */
  get roster(): {
    /** Ed25519 public key. */
    key: Uint8Array;
    /** Display name. */
    name: string;
  }[] {
    return this.#replica.state.members.map((m) => ({ key: m.key.slice(), name: m.name }));
  }

  /** The room's epoch (§R5): the one its current state names. A moderator's session switches to it once members hold its key. */
  get epoch(): number {
    return this.#replica.state.epoch;
  }

  /** ICE servers the moderator handed out, sealed inside the room (pass them to RTCPeerConnection). */
  get iceServers(): IceServer[] {
    return this.#replica.state.iceServers.map((s) => ({ ...s }));
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
    if (!this.#members.has(memberId)) return Promise.reject(noMember(memberId));
    return this.#session.sendDescription(memberId, description);
  }

  /** Sends an RTCIceCandidateInit (or null) to one admitted member. */
  sendCandidate(memberId: string, candidate: IceCandidate | null): Promise<void> {
    if (!this.#members.has(memberId)) return Promise.reject(noMember(memberId));
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
    if (owner === undefined) return Promise.reject(noMember(ownerId));
    return this.#privileges.request(action, owner, streamId);
  }

  // --- moderation (§R5, §R6) -------------------------------------------------------------------------

  /** Removes a member: it is told, expelled, and the epoch key rotates for everyone else. Moderator only. */
  kick(memberId: string, reason = 'removed by the moderator'): Promise<void> {
    return this.#moderator.kick(memberId, reason);
  }

  /** A new epoch key for everyone in the room. Moderator only. */
  rotate(): void {
    this.#moderator.rotate();
  }

  /** Hands ICE servers (TURN credentials) to every member, sealed inside the room. Moderator only. */
  setIceServers(iceServers: IceServer[]): void {
    this.#moderator.setIceServers(iceServers);
  }

  /** Makes another member the moderator (§R6). This member stays, as a member. */
  transferModeration(memberId: string): Promise<void> {
    return this.#handover.transfer(memberId);
  }

  // --- receiving ---------------------------------------------------------------------------------------

  /** §R5.4 A state was adopted: members surfaced anew, and on a transfer the moderator's seat changes hands. */
  #adopted(moderatorChanged: boolean, committedHere: boolean): void {
    this.#members.adopted(moderatorChanged);
    if (!moderatorChanged) return;
    this.emit('moderator', { key: this.#replica.state.moderator.slice(), self: this.isModerator });
    if (this.isModerator) {
      this.#moderator.tookOver();
      this.#handover.takeOver();
    } else if (!committedHere) this.#handover.stepDown();
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
    if (member === undefined) return this.#members.hold(from.id, () => this.#onMessage(from, value, broadcast));
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
    switch (m.tag) {
      case Tag.state:
        return this.#replica.onState(from.key, m.state);
      case Tag.change:
        return this.#replica.onChange(from.key, m.change, broadcast);
      case Tag.stateAck:
        return this.#moderator.onAck(from.id, m.version);
      case Tag.kicked:
        if (!equalBytes(from.key, this.#replica.state.moderator)) throw new SealsigError('E_ACCESS_DENIED', 'kick from a member that is not the moderator');
        return this.#kicked(m.reason);
      case Tag.privilegeRequest:
        return this.#privileges.onRequest(from, m);
      case Tag.privilegeResponse:
        return this.#privileges.onResponse(from, m);
      default:
        throw new SealsigError('E_FRAME_MALFORMED', `rooms message ${m.tag} does not belong in a room`);
    }
  }

  #kicked(reason: string): void {
    if (this.#closed) return;
    this.emit('kicked', { reason });
    void this.close();
  }

  #sendTo(memberId: string, m: Message): Promise<void> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'room is closed'));
    if (!this.#members.has(memberId)) return Promise.reject(noMember(memberId));
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
    await this.#handover.becoming;
    await this.#handover.resign(true);
    this.#privileges.close();
    this.#moderator.close();
    await this.#session.close();
    this.#replica.erase();
    eraseIdentity(this.#identity);
    this.#password = undefined;
    this.emit('closed', undefined);
    this.removeAllListeners();
  }
}
