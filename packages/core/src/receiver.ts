/**
 * Receiving (docs/PROTOCOL.md §8): every frame the transport delivers goes through the checks of §8.1 in
 * their order, and is dropped with the code of the first that fails, held (§8.3), or handed on: a hello to
 * the roster (roster.ts), a handshake or direct frame to the channels (channels.ts), any other broadcast to
 * the app. Nothing a frame holds can make this throw out of the transport's callback (§8.4).
 */
import { equalBytes } from './bytes.js';
import { BroadcastType, openBroadcast, verifyBroadcast, type OpenedBroadcast } from './broadcast.js';
import type { SessionContext } from './context.js';
import { FrameKind, decodeFrame, frameBytes, type DecodedFrame } from './envelope.js';
import { SealsigError, fail } from './errors.js';
import { checkSameKeys } from './hello.js';
import { endpointKey, type Peer } from './peer.js';
import { Roster } from './roster.js';

export class Receiver {
  readonly #c: SessionContext;
  readonly #roster: Roster;

  /** Who is live, and leaving (roster.ts). */
  get roster(): Roster {
    return this.#roster;
  }

  constructor(context: SessionContext) {
    this.#c = context;
    this.#roster = new Roster(context, (key) => this.#releaseHeld(key), (frame) => this.refeed(frame));
  }

  /** A frame from the transport (a view into its buffer). */
  onFrame(frame: Uint8Array): void {
    if (this.#c.closed) return;
    this.#c.stats.framesIn++;
    this.refeed(frame);
  }

  /** Handles a frame from the start (§8.1 step 1): a new one, or one kept for later (deferred, §6.4, §7.7). */
  refeed(frame: Uint8Array): void {
    if (this.#c.closed) return;
    try {
      this.#handle(decodeFrame(frame, this.#c.maxFrameBytes));
    } catch (e) {
      this.#c.report(e);
    }
  }

  /** §8.1 The order of checks, from step 2 (the frame is decoded). */
  #handle(f: DecodedFrame, opened?: OpenedBroadcast): void {
    const c = this.#c;
    const h = f.header;
    if (!equalBytes(h.route, c.route)) throw fail('E_AUTH_FAILED', 'frame is bound to another session');
    if (equalBytes(h.sender, c.self.id)) {
      if (equalBytes(h.instance, c.self.instance)) {
        c.stats.selfEcho++;
        return;
      }
      throw fail('E_UNKNOWN_SENDER', 'frame claims this member id from another instance');
    }
    if (c.presence.isExpelled(h.sender)) throw fail('E_UNKNOWN_SENDER', 'frame from an expelled member');
    if (h.recipient !== null && !equalBytes(h.recipient, c.self.id)) {
      c.stats.notForMe++;
      return;
    }
    const now = c.opt.now();
    if (h.timestamp < now - c.opt.maxAgeMs) throw fail('E_STALE', `frame is ${now - h.timestamp} ms old`);
    if (h.timestamp > now + c.opt.maxFutureSkewMs) throw fail('E_STALE', `frame is ${h.timestamp - now} ms in the future`);
    const gone = c.presence.departed(h.sender, h.instance);
    if (gone !== undefined && gone.resumable === undefined) {
      // A copy of its last broadcast (its bye, duplicated by the transport) is a duplicate; anything older
      // from an instance that left is a replay (§8.1 step 6).
      if (h.kind === FrameKind.broadcast && h.counter === gone.last) throw fail('E_REPLAY', 'a copy of the last broadcast of an instance that left');
      throw fail('E_STALE', 'frame from an instance that has left');
    }
    const peer = c.presence.member(h.sender);
    const known = peer !== undefined && equalBytes(peer.endpoint.instance, h.instance) ? peer : undefined;

    if (h.kind === FrameKind.broadcast) {
      const window = (known ?? gone?.resumable)?.window;
      if (window && window.check(h.counter) !== 'ok') throw fail('E_REPLAY', 'broadcast counter already seen');
      opened ??= openBroadcast(f, c.epochs.keys(h.epoch, now).broadcastKey);
      if (known === undefined) {
        if (gone?.resumable) this.#roster.resume(gone.resumable, f, opened);
        else if (opened.type === BroadcastType.hello) this.#roster.onHello(f, opened, peer);
        else this.#hold(f, opened);
        return;
      }
      if (!verifyBroadcast(opened, known.signingKey)) throw fail('E_AUTH_FAILED', 'bad broadcast signature');
      const wantReply = opened.type === BroadcastType.hello && checkSameKeys(known, opened);
      known.window.accept(h.counter);
      this.#roster.refresh(known, h.timestamp, now);
      c.stats.accepted++;
      if (opened.type === BroadcastType.hello) {
        known.helloTs = Math.max(known.helloTs, h.timestamp);
        if (wantReply) this.#roster.answer(known); // it re-announced after a gap (§8.6)
        return;
      }
      this.#onBroadcast(known, opened, h.timestamp);
      return;
    }

    // §8.3 Handshake and direct frames are held only for a timed-out instance, and only once they
    // authenticate (pair tag or channel AEAD); from an instance that never said hello they are refused.
    const target = known ?? gone?.resumable;
    if (target === undefined) throw fail('E_UNKNOWN_SENDER', 'handshake or direct frame from an instance that has not said hello');
    if (known === undefined) {
      c.channels.authenticate(target, f);
      this.#hold(f);
      return;
    }
    if (h.kind === FrameKind.handshakeInit) {
      if (!c.channels.onHandshakeInit(known, f)) return; // deferred: read later
    } else if (h.kind === FrameKind.handshakeResp) c.channels.onHandshakeResp(known, f);
    else c.channels.onDirect(known, f);
    this.#roster.refresh(known, h.timestamp, now); // only authenticated frames keep a peer alive
    c.stats.accepted++;
  }

  #onBroadcast(peer: Peer, opened: OpenedBroadcast, timestamp: number): void {
    if (opened.type === BroadcastType.initRequest) return this.#c.channels.onInitRequest(peer, opened, timestamp);
    if (opened.type === BroadcastType.bye) this.#roster.remove(peer, 'bye');
    else if (opened.type === BroadcastType.app) this.#c.emit('message', { from: peer.info, value: opened.payload, broadcast: true });
    else throw fail('E_FRAME_MALFORMED', `unknown broadcast type ${opened.type}`);
  }

  /** §8.3 Keeps a frame of an instance whose hello has not arrived yet, or of a timed-out one (bounded). */
  #hold(decoded: DecodedFrame, opened?: OpenedBroadcast): void {
    const c = this.#c;
    const key = endpointKey(decoded.header.sender, decoded.header.instance);
    // The frame is a view into the transport's buffer: keep a copy.
    const bytes = frameBytes(decoded);
    const copy = decodeFrame(bytes, c.maxFrameBytes);
    try {
      const evicted = c.held.add(key, { decoded: copy, bytes: bytes.length, ...(opened ? { opened } : {}) }, c.opt.now() + c.opt.peerTimeoutMs);
      c.stats.heldDropped += evicted;
      for (let i = 0; i < evicted; i++) c.report(fail('E_UNKNOWN_SENDER', 'held frame evicted for a sender within its share'));
    } catch (e) {
      c.stats.heldDropped++;
      throw e;
    }
  }

  /** §8.3 Handles, in arrival order, the frames held for an instance now live. */
  #releaseHeld(key: string): void {
    if (this.#c.held.senders === 0) return;
    for (const h of this.#c.held.take(key)) {
      try {
        this.#handle(h.decoded, h.opened);
      } catch (e) {
        this.#c.report(e instanceof SealsigError ? e : fail('E_FRAME_MALFORMED', 'unexpected failure while handling a frame', e));
      }
    }
  }
}
