/**
 * A member's view of one session (docs/PROTOCOL.md): the public API, joining and leaving, sending, and the
 * wiring of the parts that do the work: the roster and its limits (presence.ts, roster.ts, members.ts), this
 * member's own hellos (announcer.ts), receiving (receiver.ts), pairwise channels (channels.ts), epochs
 * (epochs.ts). Every secret lives in a #private field of Session or in objects only Session holds; close()
 * erases them.
 */
import { AdmissionQueues } from './admission.js';
import { Announcer } from './announcer.js';
import { equalBytes, fromBase64Url, isBytes, toBase64Url, toHex } from './bytes.js';
import { BroadcastType } from './broadcast.js';
import { Channels, unref, type ChannelHost } from './channels.js';
import type { SessionContext, Timings } from './context.js';
import { Emitter } from './emitter.js';
import { EpochRing, checkEpoch } from './epochs.js';
import { DEFAULT_MAX_FRAME_BYTES, INSTANCE_BYTES } from './envelope.js';
import { SealsigError, fail } from './errors.js';
import { checkMeta } from './hello.js';
import { DEFAULT_HOLD_LIMITS, HoldBuffer } from './hold-buffer.js';
import { MEMBER_ID_BYTES, deriveEpochKeys, deriveSession, inboxTopic, memberIdOf } from './kdf.js';
import { SessionLog } from './log.js';
import { checkIdentity, checkWork, emptyStats, resolveTimings } from './session-options.js';
import { DirectType, type Endpoint } from './pairwise.js';
import type { Peer, PeerInfo } from './peer.js';
import { Presence } from './presence.js';
import { Outbox } from './outbox.js';
import { Receiver } from './receiver.js';
import type { SessionEvents, SessionOptions, SessionStats } from './session-types.js';
import { isCandidate, isDescription, pickCandidate, type IceCandidate, type SessionDescription } from './signal.js';
import { SIGN_PUBLIC_BYTES, ed25519KeyPair, memzero, randomBytes, x25519KeyPair, type KeyPair } from './sodium.js';
import type { Transport, Unsubscribe } from './transport.js';

export { MAX_META_BYTES } from './hello.js';
export type { IceCandidate, SessionDescription } from './signal.js';
export type { Identity, LeaveReason, SessionEvents, SessionOptions, SessionStats } from './session-types.js';
export type { PeerInfo } from './peer.js';


/** A member's view of one session: use joinSession() to get one. */
export class Session extends Emitter<SessionEvents> {
  /** This member's id (base64url). */
  readonly id: string;
  /** This join's instance id (base64url). */
  readonly instance: string;
  /** The session topic on the transport (§3.3): the route tag, base64url. Hellos, broadcasts, byes. */
  readonly topic: string;
  /** This instance's inbox topic (§3.6): directed hello replies, init requests, handshake and direct frames. */
  readonly inbox: string;
  /** Frame counters, updated as frames come and go. */
  readonly stats: SessionStats = emptyStats();


  #transport: Transport;
  #route: Uint8Array;
  #memberIdKey: Uint8Array;
  #inboxKey: Uint8Array;
  #self: Endpoint;
  #outbox: Outbox;
  #dh: KeyPair;
  #epochs: EpochRing;
  #channels: Channels;
  #announcer: Announcer;
  #receiver: Receiver;
  #admission: AdmissionQueues | undefined;
  #presence: Presence;
  #unsubscribe: Unsubscribe[] = [];
  #offGap: (() => void) | undefined;
  #housekeeping: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Whether the first hello was published (a session closed before that says no bye). */
  #announced = false;
  #held: HoldBuffer;
  #maxFrameBytes: number;
  #log: SessionLog;
  #opt: Timings;

  /** Use joinSession(); the constructor needs libsodium loaded. */
  constructor(options: SessionOptions) {
    super();
    const { sessionId, transport, identity } = options;
    if (transport === null || typeof transport !== 'object' || typeof transport.publish !== 'function') {
      throw fail('E_INVALID_ARGUMENT', 'transport must implement the Transport contract');
    }
    this.#opt = resolveTimings(options);
    if (options.logger !== undefined && typeof options.logger !== 'function') throw fail('E_INVALID_ARGUMENT', 'logger must be a function');
    this.#log = new SessionLog(options.logger);
    const maxHeldBytes = options.maxHeldBytes ?? DEFAULT_HOLD_LIMITS.maxBytes;
    if (!Number.isSafeInteger(maxHeldBytes) || maxHeldBytes < 0) throw fail('E_INVALID_ARGUMENT', 'maxHeldBytes must be a non-negative integer');
    this.#held = new HoldBuffer({ ...DEFAULT_HOLD_LIMITS, maxBytes: maxHeldBytes });
    this.#maxFrameBytes = Math.min(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, transport.maxFrameBytes);
    const secrets = deriveSession(sessionId);
    this.#transport = transport;
    this.#route = secrets.routeTag;
    this.topic = secrets.topic;
    this.#memberIdKey = secrets.memberIdKey;
    this.#inboxKey = secrets.inboxKey;
    if (options.admission !== undefined && typeof options.admission?.queue !== 'function') throw fail('E_INVALID_ARGUMENT', 'admission needs a queue function');
    const start = options.epoch;
    if (start !== undefined) checkEpoch(start.epoch, start.roomKey, -1);
    this.#epochs = new EpochRing(start === undefined ? deriveEpochKeys(0, secrets.roomKey0) : deriveEpochKeys(start.epoch, start.roomKey), this.#opt.epochGraceMs);
    memzero(secrets.roomKey0);
    let signing: KeyPair;
    if (identity !== undefined) {
      checkIdentity(identity);
      signing = { publicKey: identity.signing.publicKey.slice(), privateKey: identity.signing.privateKey.slice() };
      this.#dh = { publicKey: identity.dh.publicKey.slice(), privateKey: identity.dh.privateKey.slice() };
    } else {
      signing = ed25519KeyPair();
      this.#dh = x25519KeyPair();
    }
    this.#self = { id: memberIdOf(this.#memberIdKey, signing.publicKey), instance: randomBytes(INSTANCE_BYTES) };
    this.id = toBase64Url(this.#self.id);
    this.instance = toBase64Url(this.#self.instance);
    this.inbox = inboxTopic(this.topic, this.#inboxKey, this.#self.id, this.#self.instance);
    this.#presence = new Presence(this.#opt.handshakeRetryMs);
    this.#channels = new Channels(this.#channelHost());
    this.#outbox = new Outbox({
      transport,
      route: this.#route,
      self: this.#self,
      signing,
      dhPublic: this.#dh.publicKey,
      meta: checkMeta(options.meta),
      helloWork: checkWork(options.helloWork ?? 0),
      epochs: this.#epochs,
      stats: this.stats,
      maxFrameBytes: this.#maxFrameBytes,
      now: this.#opt.now,
      closed: () => this.#closed,
    });
    this.#announcer = new Announcer({
      sealHello: (wantReply) => this.#outbox.sealHello(wantReply),
      publish: (frame, topic) => this.#outbox.publish(frame, topic),
      now: () => this.#opt.now(),
      currentEpoch: () => this.#epochs.current.epoch,
      helloMaxAgeMs: this.#opt.helloMaxAgeMs,
    });
    this.#admission = options.admission === undefined ? undefined : new AdmissionQueues(options.admission, this.#opt.now, (frame) => this.#receiver.refeed(frame));
    this.#receiver = new Receiver(this.#context());
  }

  /** What the receiving side (receiver.ts, roster.ts) reaches of this session. */
  #context(): SessionContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const session = this;
    return {
      opt: this.#opt,
      self: this.#self,
      route: this.#route,
      memberIdKey: this.#memberIdKey,
      maxFrameBytes: this.#maxFrameBytes,
      stats: this.stats,
      presence: this.#presence,
      epochs: this.#epochs,
      held: this.#held,
      channels: this.#channels,
      announcer: this.#announcer,
      admission: this.#admission,
      log: this.#log,
      get closed() {
        return session.#closed;
      },
      get announced() {
        return session.#announced;
      },
      inboxOf: (peer) => this.#inboxOf(peer),
      report: (e) => this.#report(e),
      emit: (type, event) => this.emit(type, event),
    };
  }

  /** What the pairwise channels (channels.ts) reach of this session. */
  #channelHost(): ChannelHost {
    return {
      opt: this.#opt,
      self: this.#self,
      route: this.#route,
      dh: this.#dh,
      epochs: this.#epochs,
      maxFrameBytes: this.#maxFrameBytes,
      stats: this.stats,
      isLive: (peer) => !this.#closed && this.#presence.isLive(peer),
      header: (kind, recipient, counter, epoch) => this.#outbox.header(kind, recipient, counter, epoch),
      publish: (frame, topic) => this.#outbox.publish(frame, topic),
      publishBroadcast: (type, payload, topic) => this.#outbox.broadcast(type, payload, topic),
      inboxOf: (peer) => this.#inboxOf(peer),
      report: (e) => this.#report(e),
      log: this.#log,
      refeed: (frame) => this.#receiver.refeed(frame),
      limitsOf: (peer) => this.#presence.limits(peer.info.id, this.#opt.now()),
      deliver: (peer, type, payload) => {
        if (type === DirectType.app) this.emit('message', { from: peer.info, value: payload, broadcast: false });
        else if (type === DirectType.description && isDescription(payload)) this.emit('signal', { from: peer.info, description: payload });
        else if (type === DirectType.candidate && (payload === null || isCandidate(payload))) this.emit('signal', { from: peer.info, candidate: payload });
        else throw fail('E_FRAME_MALFORMED', `bad direct message of type ${type}`);
      },
    };
  }

  /**
   * Listens to an event. A 'peer-joined' listener also hears, in a microtask, of every peer already live
   * when it was attached: a listener attached after `await joinSession(...)` misses no one, and hears of
   * each live peer instance exactly once.
   */
  override on<K extends keyof SessionEvents>(type: K, listener: (event: SessionEvents[K]) => void): () => void {
    const off = super.on(type, listener);
    if (type !== 'peer-joined' || this.#presence.size === 0) return off;
    let attached = true;
    this.#presence.tellLater(listener as (e: PeerInfo) => void, () => attached && !this.#closed);
    return () => {
      attached = false;
      off();
    };
  }

  /** @internal Subscribes and announces; called once by joinSession. */
  async start(): Promise<void> {
    // §6.2 Both topics are subscribed, and the transport has confirmed it, before the hello goes out: a
    // transport without history would lose a reply that came earlier.
    const results = await Promise.allSettled([this.topic, this.inbox].map((t) => this.#transport.subscribe(t, (frame) => this.#receiver.onFrame(frame))));
    const unsubscribes = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined || this.#closed) {
      // A subscription failed, or the session was closed (a join timeout or abort) while subscribing.
      await Promise.all(unsubscribes.map((u) => u().catch(() => {})));
      if (!this.#closed) this.#erase();
      if (failed === undefined) throw fail('E_CLOSED', 'session is closed');
      const e = failed.reason;
      throw e instanceof SealsigError ? e : fail('E_TRANSPORT', 'subscribe failed', e);
    }
    this.#unsubscribe = unsubscribes;
    this.#offGap = this.#transport.onGap?.((topic) => this.#onGap(topic));
    const tick = Math.max(10, Math.min(this.#opt.heartbeatMs, this.#opt.handshakeRetryMs, 1_000));
    let lastHello = this.#opt.now();
    this.#housekeeping = setInterval(() => {
      const now = this.#opt.now();
      if (now - lastHello >= this.#opt.heartbeatMs) {
        lastHello = now;
        void this.#announcer.announce(false, this.topic).catch(() => {});
      }
      this.#expire(now);
    }, tick);
    unref(this.#housekeeping);
    await this.#announcer.announce(true, this.topic);
    this.#announced = true;
    this.#log.log('info', 'joined', { member: this.id, epoch: this.epoch });
  }

  /** The live peers. */
  get peers(): PeerInfo[] {
    return [...this.#presence.peers()].map((p) => p.info);
  }

  /** §3.5 The member id (base64url) that a member with this Ed25519 public key has in this session. */
  memberIdOf(signingPublicKey: Uint8Array): string {
    if (this.#closed) throw fail('E_CLOSED', 'session is closed');
    if (!isBytes(signingPublicKey, SIGN_PUBLIC_BYTES)) throw fail('E_INVALID_ARGUMENT', 'a signing public key is 32 bytes');
    return toBase64Url(memberIdOf(this.#memberIdKey, signingPublicKey));
  }

  /** The current epoch number. */
  get epoch(): number {
    return this.#epochs.current.epoch;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The largest frame this session sends or accepts. */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** Sends any msgpack-able value to one peer over the pairwise channel; resolves once published. */
  send(peerId: string, value: unknown): Promise<void> {
    return this.#sendDirect(peerId, DirectType.app, value);
  }

  /** Sends an RTCSessionDescriptionInit (offer, answer, renegotiation) to one peer. */
  sendDescription(peerId: string, description: SessionDescription): Promise<void> {
    if (!isDescription(description)) return Promise.reject(fail('E_INVALID_ARGUMENT', 'not an RTCSessionDescriptionInit'));
    const d: SessionDescription = { type: description.type };
    if (description.sdp !== undefined) d.sdp = description.sdp;
    return this.#sendDirect(peerId, DirectType.description, d);
  }

  /** Sends an RTCIceCandidateInit to one peer; null signals the end of candidates. */
  sendCandidate(peerId: string, candidate: IceCandidate | null): Promise<void> {
    if (candidate !== null && !isCandidate(candidate)) return Promise.reject(fail('E_INVALID_ARGUMENT', 'not an RTCIceCandidateInit'));
    return this.#sendDirect(peerId, DirectType.candidate, candidate === null ? null : pickCandidate(candidate));
  }

  /** Sends any msgpack-able value to every member, sealed with the room key and signed. */
  broadcast(value: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(fail('E_CLOSED', 'session is closed'));
    return this.#outbox.broadcast(BroadcastType.app, value, this.topic);
  }

  /**
   * §6.2, §6.5 Says hello again, asking every member for a reply (as after a gap), with `work` bits of
   * admission work from now on (never less than before): for a joiner whose first hello a member admitting
   * through queues has not answered (the rooms lobby under a flood raises its effort this way).
   */
  announce(options: { work?: number } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(fail('E_CLOSED', 'session is closed'));
    try {
      if (options.work !== undefined) this.#outbox.helloWork = Math.max(this.#outbox.helloWork, checkWork(options.work));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#announcer.announce(true, this.topic);
  }

  /** §6.5 The admission work (leading zero bits) this member puts into hellos asking for replies. */
  get helloWork(): number {
    return this.#outbox.helloWork;
  }

  /**
   * Installs the room key of a later epoch (docs/PROTOCOL.md §9). The previous epoch is still accepted for
   * epochGraceMs, then erased. Who rotates and how the key reaches members is the rooms layer's business.
   */
  installEpoch(epoch: number, roomKey: Uint8Array): void {
    if (this.#closed) throw fail('E_CLOSED', 'session is closed');
    this.#epochs.install(epoch, roomKey, this.#opt.now());
    this.#announcer.forget(); // newcomers at the new epoch cannot read a hello sealed under the old one
    this.#log.log('info', 'epoch installed', { epoch });
    this.emit('epoch', { epoch });
  }

  /**
   * §8.5 Removes a member for the rest of this session (the rooms layer's kick): its live instance leaves with
   * reason 'expelled', its pairwise channel is erased, and every later frame carrying its member id, from any
   * instance, is dropped with E_UNKNOWN_SENDER. The member may be absent. Rotate the epoch as well (§9), or
   * the expelled member can still read broadcasts.
   */
  expel(peerId: string): void {
    if (this.#closed) throw fail('E_CLOSED', 'session is closed');
    const id = typeof peerId === 'string' ? fromBase64Url(peerId) : undefined;
    if (id === undefined || id.length !== MEMBER_ID_BYTES) throw fail('E_INVALID_ARGUMENT', 'peer id must be a base64url member id');
    if (equalBytes(id, this.#self.id)) throw fail('E_INVALID_ARGUMENT', 'a member cannot expel itself');
    const hex = toHex(id);
    this.#log.log('info', 'member expelled', { peer: peerId });
    const peer = this.#presence.get(peerId);
    if (peer !== undefined) this.#receiver.roster.remove(peer, 'expelled');
    this.#presence.expel(hex);
    this.#held.dropPrefix(hex);
  }

  /** Says goodbye, unsubscribes, and erases every key. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#announced) await this.#outbox.broadcast(BroadcastType.bye, null, this.topic).catch(() => {});
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#housekeeping);
    const unsubscribe = this.#unsubscribe.splice(0);
    this.#offGap?.();
    for (const peer of [...this.#presence.peers()]) this.#receiver.roster.remove(peer, 'closed');
    this.#erase();
    this.#log.close();
    this.#log.log('info', 'closed', { framesIn: this.stats.framesIn, framesOut: this.stats.framesOut, accepted: this.stats.accepted });
    this.emit('closed', undefined);
    this.removeAllListeners();
    await Promise.all(unsubscribe.map((u) => u().catch(() => {})));
  }

  // --- sending --------------------------------------------------------------------------------------

  /** §3.6 A peer instance's inbox topic. */
  #inboxOf(peer: Peer): string {
    return (peer.inbox ??= inboxTopic(this.topic, this.#inboxKey, peer.endpoint.id, peer.endpoint.instance));
  }

  #sendDirect(peerId: string, type: number, payload: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(fail('E_CLOSED', 'session is closed'));
    const peer = this.#presence.get(peerId);
    if (peer === undefined) return Promise.reject(fail('E_UNKNOWN_PEER', `no live peer ${String(peerId)}`));
    return this.#channels.send(peer, type, payload);
  }

  // --- receiving (receiver.ts) --------------------------------------------------------------------

  #report(e: unknown): void {
    const err = e instanceof SealsigError ? e : fail('E_FRAME_MALFORMED', 'unexpected failure while handling a frame', e);
    if (err.code === 'E_REPLAY') {
      this.stats.duplicates++;
      return;
    }
    this.stats.dropped[err.code] = (this.stats.dropped[err.code] ?? 0) + 1;
    if (!this.#closed) this.#log.dropped(err.code);
    if (!this.#closed) this.emit('error', err);
  }

  /**
   * §8.6 The transport says frames on `topic` may have been missed: announce again (every member answers to
   * our inbox, so the roster is relearnt), and restart the handshakes in flight, whose frames may be lost;
   * direct messages still waiting for a channel go out once it is set up.
   */
  #onGap(topic: string): void {
    if (this.#closed || (topic !== this.topic && topic !== this.inbox)) return;
    this.stats.gaps++;
    this.#log.log('warn', 'gap', { on: topic === this.topic ? 'session topic' : 'inbox', peers: this.#presence.size });
    this.#announcer.announce(true, this.topic).catch((e) => this.#report(e));
    for (const peer of this.#presence.peers()) this.#channels.restart(peer);
  }

  #expire(now: number): void {
    this.#receiver.roster.expire(now);
    this.#channels.expire(now, this.#presence.peers());
    this.#presence.expire(now);
    const expired = this.#held.expire(now);
    this.stats.heldDropped += expired;
    for (let i = 0; i < expired; i++) this.#report(fail('E_UNKNOWN_SENDER', 'no hello from this sender'));
    this.#epochs.expire(now);
  }

  #erase(): void {
    clearInterval(this.#housekeeping);
    this.#log.close();
    this.#outbox.erase();
    memzero(this.#dh.privateKey, this.#memberIdKey, this.#inboxKey);
    this.#epochs.erase();
    this.#presence.clear();
    this.#channels.clear();
    this.#held.clear();
    this.#admission?.clear();
  }
}

