/**
 * A room (docs/PROTOCOL.md §R): a core session whose membership the moderator controls. Members are the keys
 * listed in the moderator's room state (§R5); peers of the core session that are not listed are never shown
 * to the app and their messages are dropped. The state, and with it each epoch's room key, reaches members only
 * over pairwise channels, from the moderator, retransmitted until acknowledged.
 */
import {
  Emitter,
  SealsigError,
  createSessionId,
  ed25519KeyPair,
  equalBytes,
  Session,
  memzero,
  randomBytes,
  ready,
  x25519KeyPair,
  type Identity,
  type IceCandidate,
  type LeaveReason,
  type PeerInfo,
  type SessionDescription,
  type SessionOptions,
  type Transport,
} from '@sealsig/core';
import { extendChain, isCertifiedModerator } from './chain.js';
import { AttemptLimiter, type AttemptLimiterOptions } from './cpace/attempts.js';
import { passwordToPrs } from './cpace/protocol.js';
import { publishDescriptor, type DescriptorOptions } from './descriptor.js';
import { encodeInvite, parseInvite, type Invite } from './invite.js';
import { lobbyTopicOf } from './labels.js';
import { admitThroughLobby } from './join.js';
import { LobbyDesk, type JoinRequest } from './lobby-desk.js';
import { HoldBuffer } from './hold.js';
import { PrivilegeDesk } from './privilege-desk.js';
import { signPrivilegeRequest, type Privileges } from './privileges.js';
import {
  MAX_BANNED,
  MAX_CHAIN,
  MAX_MEMBERS,
  MAX_NAME_CHARS,
  MAX_REASON_CHARS,
  Tag,
  copyIceServers,
  copyState,
  fromWire,
  toWire,
  type ChainLink,
  type IceServer,
  type Message,
  type PrivilegeAction,
  type RoomState,
} from './wire.js';

/** A member of the room as the app sees it. */
export interface Member {
  /** Member id in the room session (base64url). */
  readonly id: string;
  readonly name: string;
  /** Ed25519 public key: the identity the moderator admitted. */
  readonly key: Uint8Array;
  readonly isModerator: boolean;
}

export type PrivilegeDeniedState = 'stop-request-denied' | 'mute-request-denied';

export interface RoomEvents {
  'peer-joined': Member;
  'peer-left': { member: Member; reason: LeaveReason | 'kicked' };
  message: { from: Member; value: unknown; broadcast: boolean };
  signal: { from: Member; description?: SessionDescription; candidate?: IceCandidate | null };
  /** Moderator only: someone asks to join. Call accept() or reject(). */
  'join-request': JoinRequest;
  epoch: { epoch: number };
  /** The moderator changed (an explicit transfer, §R6). */
  moderator: { key: Uint8Array; self: boolean };
  /** The room's ICE servers changed. */
  'ice-servers': { iceServers: IceServer[] };
  /** This member was removed by the moderator; the room is closed. */
  kicked: { reason: string };
  /** The guide's onstatechange: a stop or mute request of ours was denied by the stream's owner. */
  state: { name: PrivilegeDeniedState; owner: Member; streamId: string };
  /** A stop or mute request for one of our streams that our policy granted: the app stops or mutes it. */
  privilege: { action: PrivilegeAction; from: Member; streamId: string };
  error: SealsigError;
  closed: undefined;
}

export interface RoomOptions {
  transport: Transport;
  /** Display name shown to the moderator and members (at most 64 characters). */
  name?: string;
  /** Long-term keys. A moderator that wants to come back after a crash must keep and pass its identity. */
  identity?: Identity;
  /** Who may stop or mute this member's streams. Default: nobody. */
  privileges?: Privileges;
  /** Core session tuning (heartbeats, timeouts), for both the lobby and the room. */
  session?: Partial<Omit<SessionOptions, 'sessionId' | 'transport' | 'identity' | 'epoch'>>;
  /** Retransmission interval of room control messages and join requests (default 1 s). */
  retryMs?: number;
  /** A member that has not seen the moderator for this long asks for the current state again (§R5; default 5 s, backing off). */
  resyncAfterMs?: number;
  /** Time a privilege request waits for the owner's answer (default 15 s). */
  privilegeTimeoutMs?: number;
  /** Publish the sealed room descriptor (§R7) while this member is the moderator. */
  descriptor?: DescriptorOptions;
  /** Moderator settings, used while this member is (or becomes) the moderator. */
  moderation?: ModerationOptions;
}

export interface ModerationOptions {
  /** 'ask' (default): the app decides each join-request. 'auto': admit every joiner (after the password). */
  admit?: 'ask' | 'auto';
  /** A new epoch key whenever someone is admitted, so newcomers cannot read earlier broadcasts. */
  rotateOnJoin?: boolean;
  /** Rotate the epoch key on this period (ms). */
  rotateEveryMs?: number;
  /** Password attempt limits (AttemptLimiter). */
  attempts?: AttemptLimiterOptions;
  /** Time the app (and a joiner's key confirmation) has to answer a request (default 60 s). */
  decisionTimeoutMs?: number;
  /**
   * Keep the room's ICE servers fresh while moderating: `fetch` is called at once and every `everyMs`, and a
   * changed answer is handed to members (e.g. `() => relayTurnCredentials({ url, token }).then((c) => c.iceServers)`,
   * with `everyMs` below the credentials' ttl).
   */
  refreshIceServers?: { fetch: () => Promise<IceServer[]>; everyMs: number };
}

export interface CreateRoomOptions extends RoomOptions {
  /** The room password: joiners prove it with CPace (§R4); the relay cannot test guesses offline. */
  password?: string;
  /** ICE servers (e.g. TURN credentials) handed to members sealed inside the room state. */
  iceServers?: IceServer[];
}

export interface JoinRoomOptions extends RoomOptions {
  /** The invite, as text or parsed. Parse it with parseInvite and ask the user first (§R3). */
  invite: string | Invite;
  password?: string;
  /** Shown to the moderator with the request (at most 1 KiB encoded). */
  appData?: unknown;
  /** Give up waiting for admission after this long (default 60 s): E_TIMEOUT. */
  timeoutMs?: number;
}

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

/** §R Creates a room: this member is its moderator. Share `room.invite`. */
export async function createRoom(options: CreateRoomOptions): Promise<Room> {
  await ready();
  const name = checkName(options.name);
  if (options.password !== undefined) {
    if (typeof options.password !== 'string') throw new SealsigError('E_INVALID_ARGUMENT', 'a room password must be a string');
    passwordToPrs(options.password); // 1..1024 bytes, or E_INVALID_ARGUMENT
  }
  const identity = copyIdentity(options.identity);
  const roomSessionId = createSessionId();
  const state: RoomState = {
    version: 1,
    epoch: 1,
    roomKey: randomBytes(32),
    moderator: identity.signing.publicKey.slice(),
    members: [{ key: identity.signing.publicKey.slice(), name }],
    iceServers: checkIce(options.iceServers ?? []),
    chain: [],
    banned: [],
  };
  const invite: Invite = { sessionId: createSessionId(), moderatorKey: identity.signing.publicKey.slice(), passwordRequired: options.password !== undefined };
  const session = new Session({ ...options.session, sessionId: roomSessionId, transport: options.transport, identity, epoch: { epoch: 1, roomKey: state.roomKey } });
  return startRoom(new Room({ session, invite, roomSessionId, identity, state, password: options.password, name, options }));
}

/** §R3 Joins through an invite: asks the moderator, proves the password, and enters the room once admitted. */
export async function joinRoom(options: JoinRoomOptions): Promise<Room> {
  await ready();
  const invite = typeof options.invite === 'string' ? parseInvite(options.invite) : options.invite;
  if (invite.passwordRequired && (typeof options.password !== 'string' || options.password.length === 0)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'this room needs a password');
  }
  const name = checkName(options.name);
  const identity = copyIdentity(options.identity);
  let admission;
  try {
    admission = await admitThroughLobby({ ...options.session, sessionId: invite.sessionId, transport: options.transport, identity }, invite, {
      name,
      appData: options.appData ?? null,
      password: invite.passwordRequired ? options.password : undefined,
      timeoutMs: options.timeoutMs ?? 60_000,
      retryMs: options.retryMs ?? 1_000,
      ownKey: identity.signing.publicKey,
    });
  } catch (e) {
    eraseIdentity(identity);
    throw e;
  }
  const { roomSessionId, state } = admission;
  const session = new Session({ ...options.session, sessionId: roomSessionId, transport: options.transport, identity, epoch: { epoch: state.epoch, roomKey: state.roomKey } });
  return startRoom(new Room({ session, invite, roomSessionId, identity, state, password: options.password, name, options }));
}

async function startRoom(room: Room): Promise<Room> {
  try {
    await room.start();
  } catch (e) {
    await room.close().catch(() => {}); // erases the keys
    throw e;
  }
  return room;
}

export class Room extends Emitter<RoomEvents> {
  /** This member's id in the room session. */
  readonly id: string;
  /** The invite to share (text). */
  readonly invite: string;
  #session: Session;
  #invite: Invite;
  #roomSessionId: string;
  #identity: Identity;
  #state: RoomState;
  #password: string | undefined;
  #o: RoomOptions;
  #members = new Map<string, Member>(); // surfaced, by member id
  #acks = new Map<string, number>(); // member id -> newest state version acknowledged
  #committed: RoomState | undefined; // the state this member last committed as moderator, retransmitted until acked
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
    this.invite = encodeInvite(i.invite);
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
      const m = this.#members.get(peer.id);
      if (m === undefined) return;
      this.#members.delete(peer.id);
      this.emit('peer-left', { member: m, reason });
      // §R5 A member that said goodbye leaves the roster (no rotation: call rotate() to shut it out of later broadcasts).
      if (reason === 'bye' && this.isModerator && !this.#closed) {
        this.#commit({ members: this.#state.members.filter((x) => !equalBytes(x.key, m.key)) });
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

  get isModerator(): boolean {
    return equalBytes(this.#state.moderator, this.#identity.signing.publicKey);
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
  get roster(): { key: Uint8Array; name: string }[] {
    return this.#state.members.map((m) => ({ key: m.key.slice(), name: m.name }));
  }

  get epoch(): number {
    return this.#session.epoch;
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

  get closed(): boolean {
    return this.#closed;
  }

  // --- messaging (as core's Session, restricted to admitted members) --------------------------------

  send(memberId: string, value: unknown): Promise<void> {
    return this.#sendTo(memberId, { tag: Tag.app, value });
  }

  broadcast(value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'room is closed'));
    return this.#session.broadcast(toWire({ tag: Tag.app, value }));
  }

  sendDescription(memberId: string, description: SessionDescription): Promise<void> {
    if (!this.#members.has(memberId)) return Promise.reject(new SealsigError('E_UNKNOWN_PEER', `no member ${show(memberId)} in the room`));
    return this.#session.sendDescription(memberId, description);
  }

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
    const banned = [...this.#state.banned.filter((b) => !equalBytes(b.key, target.key)), { key: target.key.slice(), reason: why }].slice(-MAX_BANNED);
    this.#commit({ members: this.#state.members.filter((m) => !equalBytes(m.key, target.key)), banned, ...this.#newEpoch() });
  }

  /** A new epoch key for everyone in the room. Moderator only. */
  rotate(): void {
    this.#mustModerate();
    this.#commit(this.#newEpoch());
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
    const chain = extendChain(this.#state.chain, lobbyTopicOf(this.#invite), this.#identity.signing.privateKey, target.key);
    this.#commit({ moderator: target.key.slice(), chain });
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
   * sender is its moderator, certified by a chain from the invite's pinned key that extends the chain this
   * member holds. Only real transfers make such chains, and a former moderator cannot make one back to itself.
   */
  #isCertifiedSuccessor(state: RoomState, sender: Uint8Array): boolean {
    return equalBytes(state.moderator, sender) && this.#certifiesSuccessor(sender, state.chain);
  }

  /** §R6 `chain` extends the chain of our own state and certifies `key`: a moderator after ours. */
  #certifiesSuccessor(key: Uint8Array, chain: ChainLink[]): boolean {
    return this.#extendsOurChain(chain) && isCertifiedModerator(key, chain, lobbyTopicOf(this.#invite), this.#invite.moderatorKey);
  }

  /** `chain` is longer than our state's chain and starts with it. */
  #extendsOurChain(chain: ChainLink[]): boolean {
    const mine = this.#state.chain;
    if (chain.length <= mine.length) return false;
    for (let i = 0; i < mine.length; i++) if (!equalBytes(mine[i]!.key, chain[i]!.key) || !equalBytes(mine[i]!.signature, chain[i]!.signature)) return false;
    return true;
  }

  /**
   * §R6 Whose decisions this member takes: the moderator its state names, or a successor after it. For a key
   * and chain the lobby already verified from the pinned key (join.ts checks every announcement), so only the
   * prefix is compared here.
   */
  #isOurModerator(key: Uint8Array, verifiedChain: ChainLink[]): boolean {
    return equalBytes(key, this.#state.moderator) || this.#extendsOurChain(verifiedChain);
  }

  /** §R5 Why this key was kicked, or undefined if it was not. */
  #banReason(key: Uint8Array): string | undefined {
    return this.#state.banned.find((b) => equalBytes(b.key, key))?.reason;
  }

  #newEpoch(): Pick<RoomState, 'epoch' | 'roomKey'> {
    return { epoch: this.#state.epoch + 1, roomKey: randomBytes(32) };
  }

  /** Moderator: the next state, applied here and sent to every member until acknowledged. */
  #commit(change: Partial<RoomState>): RoomState {
    // A private copy, checked by the decoder members will use: nothing is committed that they would refuse.
    const next = copyState({ ...this.#state, ...change, version: this.#state.version + 1 });
    this.#committed = next;
    this.#apply(next, true);
    this.#retransmit();
    return next;
  }

  /** Admits a joiner (the desk's callback). */
  async #admit(key: Uint8Array, name: string): Promise<{ roomSessionId: string; state: RoomState }> {
    this.#mustModerate();
    const banned = this.#banReason(key);
    if (banned !== undefined) throw new SealsigError('E_ACCESS_DENIED', banned);
    const listed = this.#state.members.some((m) => equalBytes(m.key, key));
    if (!listed && this.#state.members.length >= MAX_MEMBERS) throw new SealsigError('E_ACCESS_DENIED', `the room is full (${MAX_MEMBERS} members)`);
    if (!listed) {
      this.#commit({ members: [...this.#state.members, { key: key.slice(), name }], ...(this.#o.moderation?.rotateOnJoin ? this.#newEpoch() : {}) });
    }
    return { roomSessionId: this.#roomSessionId, state: this.#state };
  }

  #retransmit(): void {
    const state = this.#committed;
    if (state === undefined || this.#closed) return;
    // #members is exactly the present peers that state lists, this member excluded (#apply and #surface keep it so).
    for (const id of this.#members.keys()) {
      if ((this.#acks.get(id) ?? 0) < state.version) void this.#session.send(id, toWire({ tag: Tag.state, state })).catch(() => {});
    }
  }

  /** Applies a newer state (from the moderator, or committed here). */
  #apply(next: RoomState, committedHere = false): void {
    const previous = this.#state;
    if (!committedHere) this.#committed = undefined; // a newer state from the moderator supersedes ours
    // A removal that comes with a new epoch is a kick (§R5); one without is a member that left.
    const kick = next.epoch > previous.epoch;
    for (const m of previous.members) {
      if (next.members.some((x) => equalBytes(x.key, m.key))) continue;
      const id = this.#session.memberIdOf(m.key);
      const member = this.#members.get(id);
      this.#members.delete(id);
      this.#acks.delete(id);
      // A kicked member that is present is refused at the core level too (core §8.5). One that left may be
      // admitted again later, so it is only dropped from the roster.
      if (kick && member !== undefined) this.#session.expel(id);
      if (member) this.emit('peer-left', { member, reason: kick ? 'kicked' : 'bye' });
    }
    this.#state = next;
    if (next.epoch > this.#session.epoch) this.#session.installEpoch(next.epoch, next.roomKey);
    if (previous.roomKey !== next.roomKey) memzero(previous.roomKey);
    if (JSON.stringify(previous.iceServers) !== JSON.stringify(next.iceServers)) this.emit('ice-servers', { iceServers: this.iceServers });
    const moderatorChanged = !equalBytes(previous.moderator, next.moderator);
    for (const [id, m] of this.#members) this.#members.set(id, { ...m, isModerator: equalBytes(m.key, next.moderator) });
    for (const p of this.#session.peers) this.#surface(p);
    if (moderatorChanged) {
      this.emit('moderator', { key: next.moderator.slice(), self: this.isModerator });
      if (this.isModerator) this.#becoming = this.#becomeModerator().catch((e) => this.#report(e));
      else if (this.#desk !== undefined && !committedHere) void Promise.resolve(this.#becoming).then(() => this.#resign(false));
    }
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
    const entry = this.#state.members.find((m) => equalBytes(m.key, p.signingKey));
    if (entry === undefined) return; // not admitted (yet): invisible
    const member: Member = { id: p.id, name: entry.name, key: p.signingKey.slice(), isModerator: equalBytes(p.signingKey, this.#state.moderator) };
    this.#members.set(p.id, member);
    this.emit('peer-joined', member);
    this.#held.release(p.id);
    if (this.#committed !== undefined) this.#retransmit();
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
    if (broadcast) return this.#report(new SealsigError('E_FRAME_MALFORMED', 'rooms control message in a broadcast'));
    void this.#onControl(member, m).catch((e) => this.#report(e));
  }

  async #onControl(from: Member, m: Message): Promise<void> {
    const fromModerator = equalBytes(from.key, this.#state.moderator);
    switch (m.tag) {
      case Tag.state: {
        const state = m.state; // decoded from this frame: our own copy
        if (!fromModerator && !this.#isCertifiedSuccessor(state, from.key)) {
          throw new SealsigError('E_ACCESS_DENIED', 'room state from a member that is not the moderator');
        }
        if (state.version > this.#state.version) {
          if (!state.members.some((x) => equalBytes(x.key, this.#identity.signing.publicKey))) return this.#kicked('removed from the room');
          this.#apply(state);
        }
        await this.#sendTo(from.id, { tag: Tag.stateAck, version: this.#state.version });
        return;
      }
      case Tag.stateAck:
        if (m.version > (this.#acks.get(from.id) ?? 0)) this.#acks.set(from.id, m.version);
        return;
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
          // Only our moderator's explicit refusal of this key is a kick; 'busy' or 'timeout' are not, and
          // neither is a refusal from anyone else (a former moderator still holds the pinned key).
          const r = e as { rejectCode?: string; rejectedBy?: Uint8Array; rejectedChain?: ChainLink[] };
          if (e instanceof SealsigError && r.rejectCode === 'rejected' && r.rejectedBy && this.#isOurModerator(r.rejectedBy, r.rejectedChain ?? [])) this.#kicked(e.message);
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
      acceptModerator: (key, chain) => this.#isOurModerator(key, chain),
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

function checkName(name: unknown): string {
  if (name === undefined) return '';
  if (typeof name !== 'string' || name.length > MAX_NAME_CHARS) throw new SealsigError('E_INVALID_ARGUMENT', `name must be a string of at most ${MAX_NAME_CHARS} characters`);
  return name;
}

function checkIce(servers: IceServer[]): IceServer[] {
  try {
    return copyIceServers(servers);
  } catch (e) {
    throw new SealsigError('E_INVALID_ARGUMENT', `bad ice servers: ${(e as Error).message}`);
  }
}

function copyIdentity(identity: Identity | undefined): Identity {
  if (identity === undefined) return { signing: ed25519KeyPair(), dh: x25519KeyPair() };
  return {
    signing: { publicKey: identity.signing.publicKey.slice(), privateKey: identity.signing.privateKey.slice() },
    dh: { publicKey: identity.dh.publicKey.slice(), privateKey: identity.dh.privateKey.slice() },
  };
}

function eraseIdentity(identity: Identity): void {
  memzero(identity.signing.privateKey, identity.dh.privateKey);
}

function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
