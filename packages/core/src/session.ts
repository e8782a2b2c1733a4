/**
 * A member's view of one session (docs/PROTOCOL.md §8): presence, room broadcasts, pairwise channels,
 * freshness and replay rules, epochs. Every secret lives in a #private field of Session or in objects only
 * Session holds; close() erases them.
 */
import { equalBytes, fromBase64Url, isBytes, toBase64Url, toHex } from './bytes.js';
import { BroadcastType, openBroadcast, sealBroadcast, verifyBroadcast, type OpenedBroadcast } from './broadcast.js';
import { Channels, unref, type ChannelHost } from './channels.js';
import { Emitter } from './emitter.js';
import { EpochRing, checkEpoch } from './epochs.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameKind, INSTANCE_BYTES, PROTOCOL_VERSION, SUITE_V1, decodeFrame, frameBytes, type DecodedFrame, type Header } from './envelope.js';
import { SealsigError, fail, type ErrorCode } from './errors.js';
import { checkMeta, checkSameKeys, parseHello } from './hello.js';
import { DEFAULT_HOLD_LIMITS, HoldBuffer } from './hold-buffer.js';
import { InitBudget } from './init-budget.js';
import { MEMBER_ID_BYTES, deriveEpochKeys, deriveSession, inboxTopic, memberIdOf } from './kdf.js';
import { DirectType, type Endpoint } from './pairwise.js';
import { endpointKey, eraseChannel, type Peer, type PeerInfo } from './peer.js';
import { SessionLog, type SessionLogger } from './log.js';
import { Presence } from './presence.js';
import { ReplayWindow } from './replay.js';
import { SIGN_PUBLIC_BYTES, ed25519KeyPair, memzero, randomBytes, ready, x25519KeyPair, type KeyPair } from './sodium.js';
import { isCandidate, isDescription, pickCandidate, type IceCandidate, type SessionDescription } from './signal.js';
import type { Transport, Unsubscribe } from './transport.js';

export { MAX_META_BYTES } from './hello.js';

/** §6.2 A known instance's hellos asking for a reply are answered at most once in this interval. */
const MIN_REPLY_INTERVAL_MS = 1_000;
export type { IceCandidate, SessionDescription } from './signal.js';

/** Long-term keys an app may supply instead of the per-session keys sealsig generates. */
export interface Identity {
  /** Ed25519: 32-byte public key, 64-byte libsodium secret key. */
  signing: KeyPair;
  /** X25519: 32-byte keys. */
  dh: KeyPair;
}

/** Options of joinSession(). */
export interface SessionOptions {
  /** The session id: at least 16 random bytes, base64url (createSessionId); every key of the session derives from it (§3.2). */
  sessionId: string;
  /** Moves frames (docs/ADAPTERS.md); trusted with nothing. */
  transport: Transport;
  /** Long-term keys (copied; the copy is erased on close). Default: fresh keys for this session. */
  identity?: Identity;
  /** Largest frame sent or accepted (default 64 KiB, never above the transport's maximum). */
  maxFrameBytes?: number;
  /** Frames older than this are stale (default 120 s). */
  maxAgeMs?: number;
  /** Frames stamped further than this in the future are stale (default 30 s). */
  maxFutureSkewMs?: number;
  /** Presence heartbeat interval (default 10 s). */
  heartbeatMs?: number;
  /** A peer silent for this long has left (default 3.5 heartbeats). */
  peerTimeoutMs?: number;
  /** First handshake retransmission delay, doubled each time (default 1 s). */
  handshakeRetryMs?: number;
  /** Give up a handshake (and reject the messages queued for it) after this long (default 15 s). */
  handshakeTimeoutMs?: number;
  /** A superseded epoch stays usable for receiving this long after the next one is installed (default 10 s). */
  epochGraceMs?: number;
  /** Direct messages queued per peer while its channel is being set up (default 256). */
  maxQueuedPerPeer?: number;
  /** Clock in milliseconds since the Unix epoch (default Date.now). */
  now?: () => number;
  /**
   * Join at a later epoch (§9) with its room key (copied), instead of epoch 0: for members handed the current
   * key by the rooms layer, so that their first hello is already readable by the others.
   */
  epoch?: {
    /** The epoch number. */
    epoch: number;
    /** Its 32-byte room key. */
    roomKey: Uint8Array;
  };
  /** joinSession rejects with E_TIMEOUT if the transport has not subscribed and published the hello by then (default 30 s). */
  joinTimeoutMs?: number;
  /** Aborting it makes a pending joinSession reject with E_ABORTED (and leave nothing behind). */
  signal?: AbortSignal;
  /**
   * App data announced in this member's hello and delivered with 'peer-joined' (PeerInfo.meta): a display
   * name, a role. Any msgpack value of at most 1 KiB encoded. Members see it; the transport does not.
   */
  meta?: unknown;
  /** Bytes held for senders whose hello has not arrived yet (§8.3; default 1 MiB, shared fairly among 64 senders). */
  maxHeldBytes?: number;
  /**
   * Opt-in debug log: called with what the session does (joined, peers joined and left, handshakes, gaps,
   * epochs, closed) and, at most once a second, a count of the frames dropped by error code. Events carry
   * member ids, counts, reasons and error codes only: never a key, the session id, a topic or content
   * (SessionLogEvent). Off by default.
   */
  logger?: SessionLogger;
}

export type { PeerInfo } from './peer.js';

/** Why a peer left: a bye, silence past peerTimeoutMs, a newer instance of the member, this session closing, or expel(). */
export type LeaveReason = 'bye' | 'timeout' | 'rejoined' | 'closed' | 'expelled';

/** Frame counters of a session (Session.stats). */
export interface SessionStats {
  /** Frames received from the transport. */
  framesIn: number;
  /** Frames published. */
  framesOut: number;
  /** Frames authenticated and used. */
  accepted: number;
  /** Duplicates and replays dropped silently. */
  duplicates: number;
  /** Own frames echoed back by the transport. */
  selfEcho: number;
  /** Frames addressed to another member. */
  notForMe: number;
  /** Frames dropped, by error code. */
  dropped: Partial<Record<ErrorCode, number>>;
  /** Frames of not-yet-known senders refused or evicted by the hold buffer's bounds (§8.3); also in dropped. */
  heldDropped: number;
  /** Handshake inits read later because their claimed sender was over its budget (§7.5). */
  initsDeferred: number;
  /** Gap signals from the transport acted on (§8.6). */
  gaps: number;
}

/** The events of a Session and their payloads. */
export interface SessionEvents {
  /** A peer instance is live (its hello verified). */
  'peer-joined': PeerInfo;
  /** A peer instance left. */
  'peer-left': {
    /** The peer that left. */
    peer: PeerInfo;
    /** Why it left. */
    reason: LeaveReason;
  };
  /** A message from a peer. */
  message: {
    /** The sender. */
    from: PeerInfo;
    /** The message (any msgpack value). */
    value: unknown;
    /** Whether it was a broadcast (true) or a direct message. */
    broadcast: boolean;
  };
  /** WebRTC signaling from a peer (sendDescription, sendCandidate). */
  signal: {
    /** The sender. */
    from: PeerInfo;
    /** An offer or answer, if that is what was sent. */
    description?: SessionDescription;
    /** An ICE candidate, or null for the end of candidates. */
    candidate?: IceCandidate | null;
  };
  /** A dropped frame or failed operation. Duplicates are not reported here (see stats.duplicates). */
  error: SealsigError;
  /** A later epoch was installed (installEpoch). */
  epoch: {
    /** The new epoch number. */
    epoch: number;
  };
  /** The session closed. */
  closed: undefined;
}


/**
 * Joins a session: derives its keys, subscribes to its route tag, announces this member. Rejects with
 * E_TIMEOUT after options.joinTimeoutMs, or E_ABORTED when options.signal aborts; the half-joined session is
 * then closed, so nothing is left subscribed.
 */
export async function joinSession(options: SessionOptions): Promise<Session> {
  const { signal } = options;
  const timeoutMs = options.joinTimeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw fail('E_INVALID_ARGUMENT', 'joinTimeoutMs must be a positive number');
  if (signal?.aborted) throw fail('E_ABORTED', 'join aborted');
  await ready();
  const session = new Session(options);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail('E_TIMEOUT', `joining took longer than ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(fail('E_ABORTED', 'join aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([session.start(), cut]);
    return session;
  } catch (e) {
    void session.close();
    throw e;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

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
  readonly stats: SessionStats = { framesIn: 0, framesOut: 0, accepted: 0, duplicates: 0, selfEcho: 0, notForMe: 0, dropped: {}, heldDropped: 0, initsDeferred: 0, gaps: 0 };

  #transport: Transport;
  #route: Uint8Array;
  #memberIdKey: Uint8Array;
  #inboxKey: Uint8Array;
  #meta: unknown;
  #self: Endpoint;
  #signing: KeyPair;
  #dh: KeyPair;
  #epochs: EpochRing;
  #channels: Channels;
  #counter = 0;
  #presence = new Presence();
  #unsubscribe: Unsubscribe[] = [];
  #offGap: (() => void) | undefined;
  #housekeeping: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Whether the first hello was published (a session closed before that says no bye). */
  #announced = false;
  #held: HoldBuffer;
  #maxFrameBytes: number;
  #log: SessionLog;
  #opt: Required<Omit<SessionOptions, 'sessionId' | 'transport' | 'identity' | 'maxFrameBytes' | 'epoch' | 'joinTimeoutMs' | 'signal' | 'maxHeldBytes' | 'meta' | 'logger'>>;

  /** Use joinSession(); the constructor needs libsodium loaded. */
  constructor(options: SessionOptions) {
    super();
    const { sessionId, transport, identity } = options;
    if (transport === null || typeof transport !== 'object' || typeof transport.publish !== 'function') {
      throw fail('E_INVALID_ARGUMENT', 'transport must implement the Transport contract');
    }
    const heartbeatMs = options.heartbeatMs ?? 10_000;
    this.#opt = {
      maxAgeMs: options.maxAgeMs ?? 120_000,
      maxFutureSkewMs: options.maxFutureSkewMs ?? 30_000,
      heartbeatMs,
      peerTimeoutMs: options.peerTimeoutMs ?? heartbeatMs * 3.5,
      handshakeRetryMs: options.handshakeRetryMs ?? 1_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 15_000,
      epochGraceMs: options.epochGraceMs ?? 10_000,
      maxQueuedPerPeer: options.maxQueuedPerPeer ?? 256,
      now: options.now ?? Date.now,
    };
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
    this.#meta = checkMeta(options.meta);
    const start = options.epoch;
    if (start !== undefined) checkEpoch(start.epoch, start.roomKey, -1);
    this.#epochs = new EpochRing(start === undefined ? deriveEpochKeys(0, secrets.roomKey0) : deriveEpochKeys(start.epoch, start.roomKey), this.#opt.epochGraceMs);
    memzero(secrets.roomKey0);
    if (identity !== undefined) {
      checkIdentity(identity);
      this.#signing = { publicKey: identity.signing.publicKey.slice(), privateKey: identity.signing.privateKey.slice() };
      this.#dh = { publicKey: identity.dh.publicKey.slice(), privateKey: identity.dh.privateKey.slice() };
    } else {
      this.#signing = ed25519KeyPair();
      this.#dh = x25519KeyPair();
    }
    this.#self = { id: memberIdOf(this.#memberIdKey, this.#signing.publicKey), instance: randomBytes(INSTANCE_BYTES) };
    this.id = toBase64Url(this.#self.id);
    this.instance = toBase64Url(this.#self.instance);
    this.inbox = inboxTopic(this.topic, this.#inboxKey, this.#self.id, this.#self.instance);
    this.#channels = new Channels(this.#channelHost());
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
      header: (kind, recipient, counter, epoch) => this.#header(kind, recipient, counter, epoch),
      publish: (frame, topic) => this.#publish(frame, topic),
      publishBroadcast: (type, payload, topic) => this.#publishBroadcast(type, payload, topic),
      inboxOf: (peer) => this.#inboxOf(peer),
      report: (e) => this.#report(e),
      log: this.#log,
      refeed: (frame) => {
        try {
          this.#handle(decodeFrame(frame, this.#maxFrameBytes));
        } catch (e) {
          this.#report(e);
        }
      },
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
    if (type === 'peer-joined' && this.#presence.size > 0) {
      const present = [...this.#presence.peers()];
      let attached = true;
      queueMicrotask(() => {
        for (const peer of present) {
          // Still the live instance, and the listener still attached: tell it (a later join was emitted normally).
          if (!attached || this.#closed || !this.#presence.isLive(peer)) continue;
          try {
            (listener as (e: PeerInfo) => void)(peer.info);
          } catch (err) {
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      });
      return () => {
        attached = false;
        off();
      };
    }
    return off;
  }

  /** @internal Subscribes and announces; called once by joinSession. */
  async start(): Promise<void> {
    // §6.2 Both topics are subscribed, and the transport has confirmed it, before the hello goes out: a
    // transport without history would lose a reply that came earlier.
    const results = await Promise.allSettled([this.topic, this.inbox].map((t) => this.#transport.subscribe(t, (frame) => this.#onFrame(frame))));
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
        void this.#publishBroadcast(BroadcastType.hello, this.#helloPayload(false)).catch(() => {});
      }
      this.#expire(now);
    }, tick);
    unref(this.#housekeeping);
    await this.#publishBroadcast(BroadcastType.hello, this.#helloPayload(true));
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
    return this.#publishBroadcast(BroadcastType.app, value);
  }

  /**
   * Installs the room key of a later epoch (docs/PROTOCOL.md §9). The previous epoch is still accepted for
   * epochGraceMs, then erased. Who rotates and how the key reaches members is the rooms layer's business.
   */
  installEpoch(epoch: number, roomKey: Uint8Array): void {
    if (this.#closed) throw fail('E_CLOSED', 'session is closed');
    this.#epochs.install(epoch, roomKey, this.#opt.now());
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
    if (peer !== undefined) this.#removePeer(peer, 'expelled');
    this.#presence.expel(hex);
    this.#held.dropPrefix(hex);
  }

  /** Says goodbye, unsubscribes, and erases every key. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#announced) await this.#publishBroadcast(BroadcastType.bye, null).catch(() => {});
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#housekeeping);
    const unsubscribe = this.#unsubscribe.splice(0);
    this.#offGap?.();
    for (const peer of [...this.#presence.peers()]) this.#removePeer(peer, 'closed');
    this.#erase();
    this.#log.close();
    this.#log.log('info', 'closed', { framesIn: this.stats.framesIn, framesOut: this.stats.framesOut, accepted: this.stats.accepted });
    this.emit('closed', undefined);
    this.removeAllListeners();
    await Promise.all(unsubscribe.map((u) => u().catch(() => {})));
  }

  // --- sending --------------------------------------------------------------------------------------

  #header(kind: FrameKind, recipient: Uint8Array | null, counter: number, epoch = this.#epochs.current.epoch): Header {
    return {
      version: PROTOCOL_VERSION,
      suite: SUITE_V1,
      kind,
      route: this.#route,
      sender: this.#self.id,
      instance: this.#self.instance,
      recipient,
      epoch,
      counter,
      timestamp: this.#opt.now(),
    };
  }

  #helloPayload(wantReply: boolean): unknown[] {
    return [this.#signing.publicKey, this.#dh.publicKey, wantReply, this.#meta];
  }

  /** §3.6 A peer instance's inbox topic. */
  #inboxOf(peer: Peer): string {
    return (peer.inbox ??= inboxTopic(this.topic, this.#inboxKey, peer.endpoint.id, peer.endpoint.instance));
  }

  /** A broadcast-kind frame (§6): on the session topic, or to one peer's inbox (a hello reply, an init request). */
  async #publishBroadcast(type: number, payload: unknown, topic = this.topic): Promise<void> {
    if (this.#closed) throw fail('E_CLOSED', 'session is closed');
    const frame = sealBroadcast({
      header: this.#header(FrameKind.broadcast, null, this.#counter++),
      key: this.#epochs.current.broadcastKey,
      signingKey: this.#signing.privateKey,
      type,
      payload,
    });
    await this.#publish(frame, topic);
  }

  async #publish(frame: Uint8Array, topic: string): Promise<void> {
    if (frame.length > this.#maxFrameBytes) throw fail('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${this.#maxFrameBytes}`);
    this.stats.framesOut++;
    try {
      await this.#transport.publish(topic, frame);
    } catch (e) {
      throw e instanceof SealsigError ? e : fail('E_TRANSPORT', 'publish failed', e);
    }
  }

  #sendDirect(peerId: string, type: number, payload: unknown): Promise<void> {
    if (this.#closed) return Promise.reject(fail('E_CLOSED', 'session is closed'));
    const peer = this.#presence.get(peerId);
    if (peer === undefined) return Promise.reject(fail('E_UNKNOWN_PEER', `no live peer ${String(peerId)}`));
    return this.#channels.send(peer, type, payload);
  }

  // --- receiving (§8.2) -----------------------------------------------------------------------------

  #onFrame(frame: Uint8Array): void {
    if (this.#closed) return;
    this.stats.framesIn++;
    try {
      this.#handle(decodeFrame(frame, this.#maxFrameBytes));
    } catch (e) {
      this.#report(e);
    }
  }

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

  #handle(f: DecodedFrame, opened?: OpenedBroadcast): void {
    const h = f.header;
    if (!equalBytes(h.route, this.#route)) throw fail('E_AUTH_FAILED', 'frame is bound to another session');
    if (equalBytes(h.sender, this.#self.id)) {
      if (equalBytes(h.instance, this.#self.instance)) {
        this.stats.selfEcho++;
        return;
      }
      throw fail('E_UNKNOWN_SENDER', 'frame claims this member id from another instance');
    }
    if (this.#presence.isExpelled(h.sender)) throw fail('E_UNKNOWN_SENDER', 'frame from an expelled member');
    if (h.recipient !== null && !equalBytes(h.recipient, this.#self.id)) {
      this.stats.notForMe++;
      return;
    }
    const now = this.#opt.now();
    if (h.timestamp < now - this.#opt.maxAgeMs) throw fail('E_STALE', `frame is ${now - h.timestamp} ms old`);
    if (h.timestamp > now + this.#opt.maxFutureSkewMs) throw fail('E_STALE', `frame is ${h.timestamp - now} ms in the future`);
    const gone = this.#presence.departed(h.sender, h.instance);
    if (gone !== undefined && gone.resumable === undefined) {
      // A copy of its last broadcast (its bye, duplicated by the transport) is a duplicate; anything older
      // from an instance that left is a replay (§8.1).
      if (h.kind === FrameKind.broadcast && h.counter === gone.last) {
        this.stats.duplicates++;
        return;
      }
      throw fail('E_STALE', 'frame from an instance that has left');
    }
    if (gone?.resumable && h.kind !== FrameKind.broadcast) {
      this.#hold(f); // a timed-out peer's frame may overtake the hello that resumes it
      return;
    }
    const peer = this.#presence.member(h.sender);
    const known = peer !== undefined && equalBytes(peer.endpoint.instance, h.instance) ? peer : undefined;

    if (h.kind === FrameKind.broadcast) {
      const window = (known ?? gone?.resumable)?.window;
      if (window && window.check(h.counter) !== 'ok') throw fail('E_REPLAY', 'broadcast counter already seen');
      opened ??= openBroadcast(f, this.#epochs.keys(h.epoch).broadcastKey);
      if (known === undefined) {
        if (gone?.resumable) this.#resume(gone.resumable, f, opened);
        else if (opened.type === BroadcastType.hello) this.#onHello(f, opened, peer);
        else this.#hold(f, opened);
        return;
      }
      if (!verifyBroadcast(opened, known.signingKey)) throw fail('E_AUTH_FAILED', 'bad broadcast signature');
      const wantReply = opened.type === BroadcastType.hello && checkSameKeys(known, opened);
      known.window.accept(h.counter);
      known.lastSeen = now;
      if (opened.type === BroadcastType.hello) known.helloTs = Math.max(known.helloTs, h.timestamp);
      this.stats.accepted++;
      // A known instance asking for replies (it re-announced after a gap, §8.6): answer to its inbox, at most
      // once a second, so that a member cannot make every other member sign at the rate it sends hellos.
      if (wantReply && !(known.lastReply !== undefined && now - known.lastReply < MIN_REPLY_INTERVAL_MS)) this.#replyTo(known);
      this.#onBroadcast(known, opened);
      return;
    }

    if (known === undefined) {
      this.#hold(f);
      return;
    }
    if (h.kind === FrameKind.handshakeInit) {
      if (!this.#channels.onHandshakeInit(known, f)) return; // deferred: read later
    } else if (h.kind === FrameKind.handshakeResp) this.#channels.onHandshakeResp(known, f);
    else this.#channels.onDirect(known, f);
    known.lastSeen = now; // only authenticated frames keep a peer alive
    this.stats.accepted++;
  }

  #onHello(f: DecodedFrame, opened: OpenedBroadcast, previous: Peer | undefined): void {
    const [signingKey, dhKey, wantReply, meta] = parseHello(opened);
    if (!equalBytes(memberIdOf(this.#memberIdKey, signingKey), f.header.sender)) throw fail('E_AUTH_FAILED', 'member id does not match the signing key');
    if (!verifyBroadcast(opened, signingKey)) throw fail('E_AUTH_FAILED', 'bad hello signature');
    // A hello of an earlier instance (replayed within the freshness window to a member that never saw that
    // instance leave) must not replace the live instance, which would then be shut out as departed.
    if (previous && f.header.timestamp < previous.helloTs) throw fail('E_STALE', 'hello from an instance older than the live one');
    if (previous) this.#removePeer(previous, 'rejoined');
    const instance = f.header.instance.slice();
    const peer: Peer = {
      info: Object.freeze({ id: toBase64Url(f.header.sender), instance: toBase64Url(instance), signingKey: signingKey.slice(), dhKey: dhKey.slice(), meta }),
      endpoint: { id: f.header.sender.slice(), instance },
      signingKey: signingKey.slice(),
      dhKey: dhKey.slice(),
      window: new ReplayWindow(),
      lastSeen: this.#opt.now(),
      helloTs: f.header.timestamp,
      phase: 'idle',
      handshakeStarted: 0,
      handshakeTs: -1,
      attempt: 0,
      queue: [],
      initBudget: new InitBudget(this.#opt.handshakeRetryMs, this.#opt.now()),
    };
    this.#admitPeer(peer, f.header.counter);
    if (wantReply) this.#replyTo(peer);
    this.#releaseHeld(endpointKey(f.header.sender, instance));
  }

  /** A verified hello makes the instance live: its counter is seen, it is a peer, the app is told. */
  #admitPeer(peer: Peer, helloCounter: number): void {
    peer.window.accept(helloCounter);
    this.#presence.admit(peer);
    this.stats.accepted++;
    this.#log.log('info', 'peer joined', { peer: peer.info.id });
    this.emit('peer-joined', peer.info);
  }

  /** Handles, in arrival order, the frames held for an instance until its hello (§8.3). */
  #releaseHeld(key: string): void {
    if (this.#held.senders === 0) return;
    for (const h of this.#held.take(key)) {
      try {
        this.#handle(h.decoded, h.opened);
      } catch (e) {
        this.#report(e);
      }
    }
  }

  /**
   * §8.1 A peer removed for silence (a partition, a suspended tab) comes back with a newer hello from the
   * same instance: it is live again with its replay window and pairwise channel intact. A replayed old
   * hello cannot do this, since its counter is in the window.
   */
  #resume(peer: Peer, f: DecodedFrame, opened: OpenedBroadcast): void {
    if (opened.type !== BroadcastType.hello) throw fail('E_STALE', 'frame from a timed-out instance before its next hello');
    if (!verifyBroadcast(opened, peer.signingKey)) throw fail('E_AUTH_FAILED', 'bad hello signature');
    const wantReply = checkSameKeys(peer, opened);
    if (this.#presence.get(peer.info.id) !== undefined) throw fail('E_STALE', 'hello from an instance replaced by a newer one');
    peer.lastSeen = this.#opt.now();
    peer.helloTs = Math.max(peer.helloTs, f.header.timestamp);
    this.#admitPeer(peer, f.header.counter);
    if (wantReply) this.#replyTo(peer);
    this.#releaseHeld(endpointKey(peer.endpoint.id, peer.endpoint.instance));
  }

  /** §6.2 A hello reply goes to the asking instance's inbox alone: O(1) work per join for each member. */
  #replyTo(peer: Peer): void {
    peer.lastReply = this.#opt.now();
    this.#publishBroadcast(BroadcastType.hello, this.#helloPayload(false), this.#inboxOf(peer)).catch((e) => this.#report(e));
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
    this.#publishBroadcast(BroadcastType.hello, this.#helloPayload(true)).catch((e) => this.#report(e));
    for (const peer of this.#presence.peers()) this.#channels.restart(peer);
  }

  #onBroadcast(peer: Peer, opened: OpenedBroadcast): void {
    if (opened.type === BroadcastType.hello) return; // heartbeat: lastSeen is updated
    if (opened.type === BroadcastType.initRequest) return this.#channels.onInitRequest(peer, opened);
    if (opened.type === BroadcastType.bye) this.#removePeer(peer, 'bye');
    else if (opened.type === BroadcastType.app) this.emit('message', { from: peer.info, value: opened.payload, broadcast: true });
    else throw fail('E_FRAME_MALFORMED', `unknown broadcast type ${opened.type}`);
  }

  /** Keeps a frame from an instance whose hello has not arrived yet (bounded; §8.3). */
  #hold(decoded: DecodedFrame, opened?: OpenedBroadcast): void {
    const key = endpointKey(decoded.header.sender, decoded.header.instance);
    // The frame is a view into the transport's buffer: keep a copy.
    const bytes = frameBytes(decoded);
    const copy = decodeFrame(bytes, this.#maxFrameBytes);
    try {
      const evicted = this.#held.add(key, { decoded: copy, bytes: bytes.length, ...(opened ? { opened } : {}) }, this.#opt.now() + this.#opt.peerTimeoutMs);
      this.stats.heldDropped += evicted;
      for (let i = 0; i < evicted; i++) this.#report(fail('E_UNKNOWN_SENDER', 'held frame evicted for a sender within its share'));
    } catch (e) {
      this.stats.heldDropped++;
      throw e;
    }
  }

  #removePeer(peer: Peer, reason: LeaveReason): void {
    const until = this.#opt.now() + this.#opt.maxAgeMs + this.#opt.maxFutureSkewMs;
    const resumable = reason === 'timeout' && !this.#closed;
    if (!this.#presence.remove(peer, until, resumable)) return;
    this.#channels.release(peer);
    if (!resumable) eraseChannel(peer);
    if (peer.queue.length > 0) {
      const err = fail('E_UNKNOWN_PEER', `peer ${peer.info.id} left (${reason})`);
      for (const q of peer.queue.splice(0)) q.reject(err);
    }
    this.#log.log('info', 'peer left', { peer: peer.info.id, reason });
    this.emit('peer-left', { peer: peer.info, reason });
  }

  #expire(now: number): void {
    for (const peer of [...this.#presence.peers()]) if (now - peer.lastSeen > this.#opt.peerTimeoutMs) this.#removePeer(peer, 'timeout');
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
    memzero(this.#signing.privateKey, this.#dh.privateKey, this.#memberIdKey, this.#inboxKey);
    this.#epochs.erase();
    this.#presence.clear();
    this.#channels.clear();
    this.#held.clear();
  }
}

// --- helpers ----------------------------------------------------------------------------------------


function checkIdentity(identity: Identity): void {
  const { signing, dh } = identity;
  if (!isBytes(signing?.publicKey, 32) || !isBytes(signing?.privateKey, 64) || !isBytes(dh?.publicKey, 32) || !isBytes(dh?.privateKey, 32)) {
    throw fail('E_INVALID_ARGUMENT', 'identity needs an Ed25519 key pair (32/64 bytes) and an X25519 key pair (32/32 bytes)');
  }
}
