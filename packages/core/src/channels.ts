/**
 * Pairwise channels between this member and each peer instance (docs/PROTOCOL.md §7.2, §7.5 to §7.7): pair
 * tags, who initiates, init requests, retries and their deadline, the init budget, the queue of direct
 * messages waiting for a channel, key confirmation and channel replacement. Session owns the peers and the
 * wire; this object owns the state machine, and reaches the rest through a ChannelHost.
 */
import { compareBytes, equalBytes, isBytes, toHex } from './bytes.js';
import { BroadcastType, type OpenedBroadcast } from './broadcast.js';
import { encodeContent } from './codec.js';
import { FrameKind, INSTANCE_BYTES, frameBytes, type DecodedFrame, type Header } from './envelope.js';
import type { EpochRing } from './epochs.js';
import { SealsigError, fail } from './errors.js';
import { MEMBER_ID_BYTES } from './kdf.js';
import type { MemberLimits } from './members.js';
import { paddedLength } from './padding.js';
import { PAIR_TAG_BYTES, checkPairTag, pairKey } from './pair-tag.js';
import { ChannelKeys, DirectType, newHandshake, pairwisePrologue, readHandshakeFrame, writeHandshakeFrame, type Endpoint } from './pairwise.js';
import type { Peer } from './peer.js';
import type { SessionLog } from './log.js';
import { AEAD_TAG_BYTES, DH_BYTES, type KeyPair } from './sodium.js';

/** The largest header (100 bytes) plus the largest bin head (5) plus the tag: bounds of a direct frame. */
const DIRECT_OVERHEAD = 105 + AEAD_TAG_BYTES;

export interface ChannelOptions {
  handshakeRetryMs: number;
  handshakeTimeoutMs: number;
  maxAgeMs: number;
  maxFutureSkewMs: number;
  maxQueuedPerPeer: number;
  now: () => number;
}

/** What the channel state machine needs of its session. */
export interface ChannelHost {
  readonly opt: ChannelOptions;
  readonly self: Endpoint;
  readonly route: Uint8Array;
  readonly dh: KeyPair;
  readonly epochs: EpochRing;
  readonly maxFrameBytes: number;
  readonly stats: { notForMe: number; initsDeferred: number; staleRequests: number };
  /** The peer is still the live instance of its member, and the session is open. */
  isLive(peer: Peer): boolean;
  header(kind: FrameKind, recipient: Uint8Array | null, counter: number, epoch?: number): Header;
  publish(frame: Uint8Array, topic: string): Promise<void>;
  publishBroadcast(type: number, payload: unknown, topic: string): Promise<void>;
  inboxOf(peer: Peer): string;
  report(e: unknown): void;
  /** Handles a frame again, from the start (a deferred init whose budget refilled). */
  refeed(frame: Uint8Array): void;
  /** Delivers a direct message's content (not a confirm) to the app. */
  deliver(peer: Peer, type: number, payload: unknown): void;
  /** §7.7 The limits of the peer's member (its init budget), across its instances. */
  limitsOf(peer: Peer): MemberLimits;
  /** The session's log (SessionOptions.logger): handshakes started, finished, given up. */
  readonly log: SessionLog;
}

/** Lets a timer not keep Node alive (browsers have no unref). */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

export class Channels {
  readonly #h: ChannelHost;
  /** Accepted handshake ephemerals (hex) -> when to forget them (§7.5). */
  #ephemerals = new Map<string, number>();

  constructor(host: ChannelHost) {
    this.#h = host;
  }

  /** §8.6 A gap: a handshake in flight may have lost frames. Send its init, or its init request, again now. */
  restart(peer: Peer): void {
    if (peer.phase !== 'initiating' && peer.phase !== 'requested' && !(peer.phase === 'awaiting-confirm' && peer.queue.length > 0)) return;
    if (peer.timer !== undefined) clearTimeout(peer.timer);
    peer.timer = undefined;
    this.#resend(peer);
  }

  /**
   * Sends again what a handshake in flight waits on: our init (the lower member), or our init request (the
   * higher member: still no init, or our response or the initiator's confirmation was lost).
   */
  #resend(peer: Peer): void {
    if (peer.phase === 'initiating') this.#sendInit(peer);
    else if (peer.phase === 'requested' || (peer.phase === 'awaiting-confirm' && peer.queue.length > 0)) this.#sendRequest(peer);
  }

  /**
   * A peer left: stop its handshake and timers. Its keys are the session's to keep (resume) or erase; inits it
   * deferred stay with its member's budget (read later, they are refused as coming from a departed instance).
   */
  release(peer: Peer): void {
    this.#clearHandshake(peer);
    if (peer.phase === 'initiating' || peer.phase === 'requested') peer.phase = 'idle'; // its timer is gone
  }

  /** §7.2 The pair key with a peer instance: one X25519 the first time, then kept with the peer. */
  #pairKey(peer: Peer): Uint8Array {
    return (peer.pairKey ??= pairKey(this.#h.route, this.#h.self, this.#h.dh, peer.endpoint, peer.dhKey));
  }

  /**
   * §8.3 Authenticates a frame of a timed-out peer before it is held: a handshake frame by its pair tag, a
   * direct frame by the channel's AEAD (current or replaced keys), without marking its counter.
   */
  authenticate(peer: Peer, f: DecodedFrame): void {
    if (f.header.kind !== FrameKind.direct) {
      checkPairTag(this.#pairKey(peer), f);
      return;
    }
    this.#underChannelKeys(peer, (keys) => keys.check(f));
  }

  /**
   * §7.3 Runs `use` under the channel's keys, then, if that fails with E_AUTH_FAILED or E_REPLAY, under the
   * keys it replaced while they last (§7.5): a frame sealed before the replacement may carry a counter the new
   * channel has used already, so a replay is E_REPLAY if either window says so. Returns the result and
   * whether it came from the current keys.
   */
  #underChannelKeys<T>(peer: Peer, use: (keys: ChannelKeys) => T): { value: T; current: boolean } {
    if (!peer.keys) throw fail('E_HANDSHAKE', 'no pairwise channel with this peer');
    try {
      return { value: use(peer.keys), current: true };
    } catch (e) {
      const prev = peer.previous !== undefined && peer.previous.expires > this.#h.opt.now() ? peer.previous : undefined;
      if (prev === undefined || !(e instanceof SealsigError) || (e.code !== 'E_AUTH_FAILED' && e.code !== 'E_REPLAY')) throw e;
      try {
        return { value: use(prev.keys), current: false };
      } catch (e2) {
        throw e.code === 'E_REPLAY' ? e : e2;
      }
    }
  }

  /** Forgets ephemerals that can no longer pass the freshness check, and replaced keys past their time. */
  expire(now: number, peers: Iterable<Peer>): void {
    for (const [k, until] of this.#ephemerals) if (until <= now) this.#ephemerals.delete(k);
    for (const peer of peers) {
      if (peer.previous && peer.previous.expires <= now) {
        peer.previous.keys.destroy();
        peer.previous = undefined;
      }
    }
  }

  clear(): void {
    this.#ephemerals.clear();
  }

  /** §7.5 Sends a direct message to a live peer: at once on an established channel, else queued for one. */
  send(peer: Peer, type: number, payload: unknown): Promise<void> {
    // Encoded now: a message queued for a channel still being set up is what the value was at send() time,
    // whatever the app (or a layer above) does with its objects meanwhile. encodeContent returns a view into a
    // shared buffer, so the queue keeps a copy.
    let content: Uint8Array;
    try {
      content = encodeContent(type, payload);
    } catch (e) {
      return Promise.reject(e);
    }
    if (paddedLength(content.length) + DIRECT_OVERHEAD > this.#h.maxFrameBytes) {
      return Promise.reject(fail('E_FRAME_TOO_LARGE', `value of ${content.length} bytes does not fit a ${this.#h.maxFrameBytes}-byte frame`));
    }
    if (peer.phase === 'established' && peer.queue.length === 0) return this.#sealDirect(peer, content);
    if (peer.queue.length >= this.#h.opt.maxQueuedPerPeer) return Promise.reject(fail('E_QUEUE_FULL', `${peer.queue.length} messages already wait for ${peer.info.id}`));
    return new Promise<void>((resolve, reject) => {
      peer.queue.push({ content: content.slice(), resolve, reject });
      if (peer.phase === 'idle') this.#startChannel(peer);
      else if (peer.phase === 'awaiting-confirm' && peer.timer === undefined) {
        // §7.5: a responder still waiting after the retry delay with messages queued asks for a new handshake.
        peer.handshakeStarted = this.#h.opt.now();
        this.#scheduleRetry(peer, this.#h.opt.handshakeRetryMs);
      }
    });
  }

  #sealDirect(peer: Peer, content: Uint8Array): Promise<void> {
    const keys = peer.keys!;
    const frame = keys.sealContent(this.#h.header(FrameKind.direct, peer.endpoint.id, keys.nextCounter()), content);
    return this.#h.publish(frame, this.#h.inboxOf(peer));
  }

  #flush(peer: Peer): void {
    const queue = peer.queue.splice(0);
    for (const q of queue) this.#sealDirect(peer, q.content).then(q.resolve, q.reject);
  }

  /** §7.5 Only the lower member id of a pair initiates; the higher one asks it to, with an init request. */
  #startChannel(peer: Peer): void {
    this.#begin(peer, this.#initiates(peer) ? 'initiating' : 'requested');
  }

  #initiates(peer: Peer): boolean {
    return compareBytes(this.#h.self.id, peer.endpoint.id) < 0;
  }

  /** Starts a handshake from this side: an init (the lower member id) or an init request (the higher one). */
  #begin(peer: Peer, phase: 'initiating' | 'requested'): void {
    this.#clearHandshake(peer);
    peer.phase = phase;
    peer.handshakeStarted = this.#h.opt.now();
    peer.attempt = 0;
    this.#h.log.log('debug', 'handshake started', { peer: peer.info.id, role: phase === 'initiating' ? 'initiator' : 'requester' });
    if (phase === 'initiating') this.#sendInit(peer);
    else this.#sendRequest(peer);
  }

  /** The next retry, after the handshake retry delay doubled once per attempt so far (§7.5). */
  #backOff(peer: Peer): void {
    const delay = this.#h.opt.handshakeRetryMs * 2 ** Math.min(peer.attempt, 10);
    peer.attempt++;
    this.#scheduleRetry(peer, delay);
  }

  /** §7.6 An init request: a broadcast-kind frame to the peer's inbox naming it; resent with the init's backoff. */
  #sendRequest(peer: Peer): void {
    this.#h.publishBroadcast(BroadcastType.initRequest, [peer.endpoint.id, peer.endpoint.instance], this.#h.inboxOf(peer)).catch((e) => this.#h.report(e));
    this.#backOff(peer);
  }

  /** §7.6 The higher member of the pair asks this (lower) member for a handshake. */
  onInitRequest(peer: Peer, opened: OpenedBroadcast, timestamp: number): void {
    const p = opened.payload;
    if (!Array.isArray(p) || p.length !== 2 || !isBytes(p[0], MEMBER_ID_BYTES) || !isBytes(p[1], INSTANCE_BYTES)) throw fail('E_FRAME_MALFORMED', 'bad init request');
    if (!equalBytes(p[0], this.#h.self.id) || !equalBytes(p[1], this.#h.self.instance)) {
      this.#h.stats.notForMe++; // authentic, but meant for another instance (moved by the transport)
      return;
    }
    if (!this.#initiates(peer)) throw fail('E_HANDSHAKE', 'init request from the lower member id of the pair');
    if (peer.phase === 'initiating') return; // our init is on its way, and retried
    // Stamped no later than the newest resp accepted from that instance: the requester made it before it
    // answered the init of the channel we hold (delivered late). Honouring it would replace a channel the
    // peer has just started using, and with it the keys of frames still in flight.
    if (timestamp <= peer.handshakeTs) {
      this.#h.stats.staleRequests++;
      return;
    }
    if (!this.#h.limitsOf(peer).initBudget.take(this.#h.opt.now())) throw fail('E_RATE_LIMITED', 'init request over the member budget');
    this.#begin(peer, 'initiating');
  }

  #sendInit(peer: Peer): void {
    peer.handshake?.destroy();
    peer.handshake = undefined;
    let frame: Uint8Array;
    try {
      const hs = newHandshake({
        initiator: true,
        prologue: pairwisePrologue(this.#h.route, this.#h.self, peer.endpoint),
        s: this.#h.dh,
        rs: peer.dhKey,
        psk: this.#h.epochs.current.psk,
      });
      peer.handshake = hs;
      frame = writeHandshakeFrame(hs, this.#h.header(FrameKind.handshakeInit, peer.endpoint.id, peer.attempt), this.#pairKey(peer)).frame;
    } catch (e) {
      // Nothing can start a handshake with this peer now: fail what waits for it rather than leave it pending.
      this.#giveUp(peer, fail('E_HANDSHAKE', `cannot start a handshake with ${peer.info.id}`, e));
      return;
    }
    this.#h.publish(frame, this.#h.inboxOf(peer)).catch((e) => this.#h.report(e));
    this.#backOff(peer);
  }

  /** Schedules the next retry, never later than the handshake's deadline: no send waits past handshakeTimeoutMs. */
  #scheduleRetry(peer: Peer, ms: number): void {
    const deadline = peer.handshakeStarted + this.#h.opt.handshakeTimeoutMs - this.#h.opt.now();
    peer.timer = setTimeout(() => this.#retry(peer), Math.max(0, Math.min(ms, deadline)));
    unref(peer.timer);
  }

  /** Ends a handshake that cannot complete: the peer is idle again and every queued send fails with `err`. */
  #giveUp(peer: Peer, err: SealsigError): void {
    this.#clearHandshake(peer);
    peer.phase = 'idle'; // keys not confirmed by now are not used for sending; the next send starts over
    this.#h.log.log('warn', 'handshake failed', { peer: peer.info.id, code: err.code, queued: peer.queue.length });
    for (const q of peer.queue.splice(0)) q.reject(err);
    this.#h.report(err);
  }

  #retry(peer: Peer): void {
    peer.timer = undefined;
    if (!this.#h.isLive(peer)) return;
    if (this.#h.opt.now() - peer.handshakeStarted >= this.#h.opt.handshakeTimeoutMs) {
      this.#giveUp(peer, fail('E_HANDSHAKE', `no pairwise channel with ${peer.info.id} after ${this.#h.opt.handshakeTimeoutMs} ms`));
      return;
    }
    this.#resend(peer);
  }

  #clearHandshake(peer: Peer): void {
    if (peer.timer !== undefined) clearTimeout(peer.timer);
    peer.timer = undefined;
    peer.handshake?.destroy();
    peer.handshake = undefined;
  }

  #installKeys(peer: Peer, keys: ChannelKeys): void {
    if (peer.keys) {
      peer.previous?.keys.destroy();
      peer.previous = { keys: peer.keys, expires: this.#h.opt.now() + this.#h.opt.maxAgeMs };
    }
    peer.keys = keys;
  }

  /** Reads a handshake init; false if it was deferred (its sender is over its budget). */
  onHandshakeInit(peer: Peer, f: DecodedFrame): boolean {
    // §7.2 The pair tag first: only the peer could have made it, so nothing else here is spent on a forgery.
    const key = this.#pairKey(peer);
    checkPairTag(key, f);
    // §7.5 Only the lower member id initiates: an init from the higher one is refused before any DH.
    if (this.#initiates(peer)) throw fail('E_HANDSHAKE', 'handshake init from the higher member id of the pair');
    const psk = this.#h.epochs.keys(f.header.epoch, this.#h.opt.now()).psk;
    const ephemeral = this.#unusedEphemeral(f);
    // An init the peer sent before the handshake of the current channel (one it abandoned, delivered late)
    // must not replace that channel: two such inits would erase the keys the peer is actually using.
    if (f.header.timestamp < peer.handshakeTs) throw fail('E_HANDSHAKE', 'handshake init older than the current channel');
    const budget = this.#h.limitsOf(peer).initBudget;
    if (!budget.take(this.#h.opt.now())) {
      this.#deferInit(budget, f);
      return false;
    }
    const hs = newHandshake({
      initiator: false,
      prologue: pairwisePrologue(this.#h.route, peer.endpoint, this.#h.self),
      s: this.#h.dh,
      rs: peer.dhKey,
      psk,
    });
    try {
      readHandshakeFrame(hs, f, key);
      peer.handshakeTs = Math.max(peer.handshakeTs, f.header.timestamp);
      this.#rememberEphemeral(ephemeral, f);
      const { frame, split } = writeHandshakeFrame(hs, this.#h.header(FrameKind.handshakeResp, peer.endpoint.id, 0, f.header.epoch), key);
      const [c1, c2] = split!;
      this.#clearHandshake(peer);
      this.#installKeys(peer, new ChannelKeys(c2, c1));
      peer.phase = 'awaiting-confirm';
      this.#h.log.log('debug', 'handshake answered', { peer: peer.info.id });
      if (peer.queue.length === 0) {
        peer.handshakeStarted = this.#h.opt.now();
        peer.attempt = 0;
      } else {
        // Messages wait: they keep their deadline (handshakeTimeoutMs covers the wait for this init) and the
        // backoff keeps growing, so that a confirmation slower than the retry delay is not chased forever.
        this.#backOff(peer);
      }
      this.#h.publish(frame, this.#h.inboxOf(peer)).catch((e) => this.#h.report(e));
    } finally {
      hs.destroy();
    }
    return true;
  }

  /** §7.7 Keeps an init over its member's budget, to be read (with every check again) once the budget refills. */
  #deferInit(budget: MemberLimits['initBudget'], f: DecodedFrame): void {
    this.#h.stats.initsDeferred++;
    if (!budget.defer(frameBytes(f))) this.#h.report(fail('E_RATE_LIMITED', 'deferred handshake init replaced by a newer one'));
    if (budget.timer !== undefined) return;
    const schedule = () => {
      budget.timer = setTimeout(readNext, budget.wait(this.#h.opt.now()));
      unref(budget.timer);
    };
    const readNext = () => {
      budget.timer = undefined;
      const frame = budget.next();
      if (frame === undefined) return;
      this.#h.refeed(frame); // every check again: from a departed instance it is refused
      if (budget.waiting > 0 && budget.timer === undefined) schedule();
    };
    schedule();
  }

  onHandshakeResp(peer: Peer, f: DecodedFrame): void {
    // §7.2 The pair tag first: a forged response costs one MAC, not the two DH of a read.
    const key = this.#pairKey(peer);
    checkPairTag(key, f);
    // A duplicate or replay of a response already accepted is E_REPLAY (counted), not an error event.
    const ephemeral = this.#unusedEphemeral(f);
    const hs = peer.handshake;
    if (peer.phase !== 'initiating' || hs === undefined) throw fail('E_HANDSHAKE', 'no handshake in progress with this peer');
    // Read on a copy: a forged or garbled response (an injector can copy the clear header fields) fails on
    // the copy alone, and the handshake still accepts the genuine response (§7.5).
    const trial = hs.copy();
    let split;
    try {
      split = readHandshakeFrame(trial, f, key).split;
    } finally {
      trial.destroy();
    }
    this.#rememberEphemeral(ephemeral, f);
    peer.handshakeTs = Math.max(peer.handshakeTs, f.header.timestamp);
    const [c1, c2] = split!;
    this.#clearHandshake(peer);
    this.#installKeys(peer, new ChannelKeys(c1, c2));
    peer.phase = 'established';
    this.#h.log.log('info', 'handshake finished', { peer: peer.info.id, role: 'initiator' });
    // The first transport message confirms the channel to the responder (key confirmation, §7.5).
    this.#sealDirect(peer, encodeContent(DirectType.confirm, null)).catch((e) => this.#h.report(e));
    this.#flush(peer);
  }

  /** §7.5 The handshake message's ephemeral key (its 32 bytes after the pair tag), unless one already accepted: E_REPLAY. */
  #unusedEphemeral(f: DecodedFrame): string {
    const ephemeral = toHex(f.body.subarray(PAIR_TAG_BYTES, PAIR_TAG_BYTES + DH_BYTES));
    if (this.#ephemerals.has(ephemeral)) throw fail('E_REPLAY', 'handshake ephemeral already used');
    return ephemeral;
  }

  /** Remembers an accepted ephemeral while a replay of its frame could still pass the freshness check. */
  #rememberEphemeral(ephemeral: string, f: DecodedFrame): void {
    this.#ephemerals.set(ephemeral, f.header.timestamp + this.#h.opt.maxAgeMs + this.#h.opt.maxFutureSkewMs);
  }

  onDirect(peer: Peer, f: DecodedFrame): void {
    const { value: msg, current } = this.#underChannelKeys(peer, (keys) => keys.open(f));
    if (current && (peer.phase === 'awaiting-confirm' || peer.phase === 'idle' || peer.phase === 'requested')) {
      // The initiator's first transport message: key confirmation, and the end of msg 1's KCI exposure.
      // (Idle with keys: a handshake we gave up on that the peer did complete.)
      peer.phase = 'established';
      this.#h.log.log('info', 'handshake finished', { peer: peer.info.id, role: 'responder' });
      this.#clearHandshake(peer);
      this.#flush(peer);
    }
    const { type, payload } = msg;
    if (type !== DirectType.confirm) this.#h.deliver(peer, type, payload);
  }
}
