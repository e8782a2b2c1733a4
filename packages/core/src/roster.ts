/**
 * Peers coming and going (docs/PROTOCOL.md §6.2, §6.4, §6.5, §8.1 (c) and (d)): a hello from an instance
 * this member does not know, or from one that timed out, within the limits per member id and the admission
 * queues; liveness and timeouts; leaving; and the answers to hellos that ask for one.
 *
 * A hello makes an instance live only if it is stamped within R (`helloMaxAgeMs`) of now, and a frame keeps
 * one live only if it is: so whatever the transport replays, a member that left without a bye appears live
 * to nobody for longer than R plus the peer timeout after its last frame.
 */
import { equalBytes, toBase64Url } from './bytes.js';
import { BroadcastType, verifyBroadcast, type OpenedBroadcast } from './broadcast.js';
import type { SessionContext } from './context.js';
import { frameBytes, type DecodedFrame } from './envelope.js';
import { fail } from './errors.js';
import { checkSameKeys, parseHello } from './hello.js';
import { memberIdOf } from './kdf.js';
import type { MemberLimits } from './members.js';
import { endpointKey, eraseChannel, type Peer } from './peer.js';
import type { LeaveReason } from './session-types.js';
import { ReplayWindow } from './replay.js';
import { unref } from './channels.js';
import { helloEffort } from './admission.js';

export class Roster {
  readonly #c: SessionContext;
  /** Handles the frames held for an instance that is now live (§8.3). */
  readonly #release: (key: string) => void;
  /** Handles a frame again from the start (a deferred hello, §6.4). */
  readonly #refeed: (frame: Uint8Array) => void;

  constructor(context: SessionContext, release: (key: string) => void, refeed: (frame: Uint8Array) => void) {
    this.#c = context;
    this.#release = release;
    this.#refeed = refeed;
  }

  /** §6.2 A hello from an instance this member does not know; `previous` is its member's live instance, if any. */
  onHello(f: DecodedFrame, opened: OpenedBroadcast, previous: Peer | undefined): void {
    const c = this.#c;
    const h = f.header;
    const now = c.opt.now();
    this.#checkFresh(h.timestamp, now);
    const [signingKey, dhKey, wantReply, meta, work] = parseHello(opened);
    const id = toBase64Url(h.sender);
    if (c.admission !== undefined && !this.#admissionGoes(f, id, meta, signingKey, work)) return;
    if (!equalBytes(memberIdOf(c.memberIdKey, signingKey), h.sender)) throw fail('E_AUTH_FAILED', 'member id does not match the signing key');
    if (!verifyBroadcast(opened, signingKey)) throw fail('E_AUTH_FAILED', 'bad hello signature');
    // A hello of an earlier instance (replayed to a member that never saw that instance leave) must not
    // replace the live instance, which would then be shut out as departed.
    if (previous && h.timestamp < previous.helloTs) throw fail('E_STALE', 'hello from an instance older than the live one');
    const known = c.presence.limitsOf(id);
    const wait = known?.admitWait(now) ?? 0;
    if (wait > 0) {
      this.#defer(known!, f, wait);
      return;
    }
    if (previous) this.remove(previous, 'rejoined');
    const instance = h.instance.slice();
    const peer: Peer = {
      info: Object.freeze({ id, instance: toBase64Url(instance), signingKey: signingKey.slice(), dhKey: dhKey.slice(), meta }),
      endpoint: { id: h.sender.slice(), instance },
      signingKey: signingKey.slice(),
      dhKey: dhKey.slice(),
      window: new ReplayWindow(),
      lastSeen: now,
      helloTs: h.timestamp,
      phase: 'idle',
      handshakeStarted: 0,
      handshakeTs: -1,
      attempt: 0,
      queue: [],
    };
    this.#admit(peer, h.counter, now);
    c.presence.limits(id, now).lastAdmit = now;
    if (wantReply) this.answer(peer);
    this.#release(endpointKey(h.sender, instance));
  }

  /**
   * §8.1 (d) A peer removed for silence (a partition, a suspended tab) comes back with a newer hello from the
   * same instance: it is live again with its replay window and pairwise channel intact. A replayed old hello
   * cannot do this, since its counter is in the window; a recorded newer one only within R.
   */
  resume(peer: Peer, f: DecodedFrame, opened: OpenedBroadcast): void {
    const c = this.#c;
    if (opened.type !== BroadcastType.hello) throw fail('E_STALE', 'frame from a timed-out instance before its next hello');
    const now = c.opt.now();
    this.#checkFresh(f.header.timestamp, now);
    if (!verifyBroadcast(opened, peer.signingKey)) throw fail('E_AUTH_FAILED', 'bad hello signature');
    const wantReply = checkSameKeys(peer, opened);
    if (c.presence.get(peer.info.id) !== undefined) throw fail('E_STALE', 'hello from an instance replaced by a newer one');
    peer.lastSeen = now;
    peer.helloTs = Math.max(peer.helloTs, f.header.timestamp);
    this.#admit(peer, f.header.counter, now);
    if (wantReply) this.answer(peer);
    this.#release(endpointKey(peer.endpoint.id, peer.endpoint.instance));
  }

  /**
   * A live instance leaves: remembered as departed (whole, to resume, after a timeout), its handshake
   * stopped, its keys erased (unless it may resume), its queued messages failed, and the app told.
   */
  remove(peer: Peer, reason: LeaveReason): void {
    const c = this.#c;
    const until = c.opt.now() + c.opt.maxAgeMs + c.opt.maxFutureSkewMs;
    const resumable = reason === 'timeout' && !c.closed;
    if (!c.presence.remove(peer, until, resumable)) return;
    c.channels.release(peer);
    if (!resumable) eraseChannel(peer);
    if (peer.queue.length > 0) {
      const err = fail('E_UNKNOWN_PEER', `peer ${peer.info.id} left (${reason})`);
      for (const q of peer.queue.splice(0)) q.reject(err);
    }
    c.log.log('info', 'peer left', { peer: peer.info.id, reason });
    c.emit('peer-left', { peer: peer.info, reason });
  }

  /** §6.2 Peers not kept live for more than the peer timeout leave, with reason 'timeout'. */
  expire(now: number): void {
    for (const peer of [...this.#c.presence.peers()]) if (now - peer.lastSeen > this.#c.opt.peerTimeoutMs) this.remove(peer, 'timeout');
  }

  /** §6.2 An authenticated frame of a live peer keeps it live, if it is stamped within R. */
  refresh(peer: Peer, timestamp: number, now: number): void {
    if (timestamp >= now - this.#c.opt.helloMaxAgeMs) peer.lastSeen = now;
  }

  /**
   * §6.2, §6.4 Answers a hello that asked for a reply, to the asker's inbox: at most once a second per member
   * (whichever instance asks), and only once this member's own hello is out (that hello asks everyone anyway).
   */
  answer(peer: Peer): void {
    const c = this.#c;
    if (!c.announced) return;
    const now = c.opt.now();
    if (!c.presence.limits(peer.info.id, now).takeReply(now)) {
      c.stats.repliesSkipped++;
      return;
    }
    c.announcer.reply(c.inboxOf(peer)).catch((e) => c.report(e));
  }

  /**
   * §6.5 Through an admission queue, before any public-key work: go on now (a token), or wait among the
   * queue's highest efforts (false). A queue the policy refuses is E_ACCESS_DENIED.
   */
  #admissionGoes(f: DecodedFrame, id: string, meta: unknown, signingKey: Uint8Array, work: Uint8Array | null): boolean {
    const c = this.#c;
    const queues = c.admission!;
    const key = queues.policy.queue(meta, signingKey, c.presence.limitsOf(id) !== undefined);
    if (typeof key !== 'string') throw fail('E_ACCESS_DENIED', 'hello refused by the admission policy');
    const h = f.header;
    const effort = helloEffort(c.route, h.sender, h.instance, h.timestamp, work);
    const { go, dropped } = queues.take(key, effort, () => frameBytes(f));
    if (go) return true;
    c.stats.hellosQueued++;
    if (dropped > 0) c.report(fail('E_RATE_LIMITED', 'hello dropped from a full admission queue'));
    return false;
  }

  /** §6.2 A hello stamped more than R ago proves nothing about a member being alive now. */
  #checkFresh(timestamp: number, now: number): void {
    if (timestamp < now - this.#c.opt.helloMaxAgeMs) throw fail('E_STALE', 'hello older than the largest hello age');
  }

  /** A verified hello makes the instance live: its counter is seen, it is a peer, the app is told. */
  #admit(peer: Peer, helloCounter: number, now: number): void {
    const c = this.#c;
    peer.window.accept(helloCounter);
    c.presence.admit(peer, now);
    c.stats.accepted++;
    c.log.log('info', 'peer joined', { peer: peer.info.id });
    c.emit('peer-joined', peer.info);
  }

  /**
   * §6.4 A new instance of a member admitted less than a second after the last one waits: the newest such
   * hello is kept (a copy) and handled again, with every check, once the second has passed.
   */
  #defer(limits: MemberLimits, f: DecodedFrame, wait: number): void {
    const c = this.#c;
    c.stats.hellosDeferred++;
    if (limits.deferredHello !== undefined) c.report(fail('E_RATE_LIMITED', 'deferred hello replaced by a newer one'));
    limits.deferredHello = frameBytes(f);
    if (limits.helloTimer !== undefined) return;
    limits.helloTimer = setTimeout(() => {
      limits.helloTimer = undefined;
      const frame = limits.deferredHello;
      limits.deferredHello = undefined;
      if (frame !== undefined) this.#refeed(frame);
    }, wait);
    unref(limits.helloTimer);
  }
}
