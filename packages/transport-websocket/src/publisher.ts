/**
 * The transport's publishes (PROTOCOL-RELAY.md §3.1, §3.2): every frame publish() accepted is held in the
 * bounded send queue (send-queue.ts) until the relay acknowledges it, sent at once while the connection is
 * restored, and sent again on the next socket if no ACK covered it. Frames go out only while the relay surely
 * has a token of its rate limit for them (relay-budget.ts) and the frames in flight hold at most half the
 * queue's byte bound (send-queue.ts mayFly); the rest wait in the queue, which is the
 * transport's pacing capability (docs/ADAPTERS.md §1: backlog, drained()). The relay's limit is the one it
 * announces (LIMITS, §3.5); until the relay has said anything on a socket, one frame is in flight at most, so
 * that a LIMITS on its way lowers the budget before a burst goes. A retryable NACK (2 rate limited,
 * 7 unavailable) puts the frame back and pauses publishing with a growing delay; any other NACK drops it and
 * says why.
 */
import { SealsigError, type ErrorCode, type TransportPacing } from '@sealsig/core';
import { backoffDelay } from './backoff.js';
import type { TransportEvent, TransportEventType } from './options.js';
import { RETRYABLE_NACKS, encodePublish } from './protocol.js';
import { DEFAULT_PUBLISH_LIMIT, RelayBudget, lowerLimit, type RateLimit } from './relay-budget.js';
import type { SendQueue } from './send-queue.js';
import { unwrapSeq } from './serial.js';
import { unref } from './timers.js';

/** After a retryable NACK, publishing pauses 100-200 ms, doubling per NACK in a row up to 4-8 s. */
const NACK_RETRY_MS = 200;

/** The SealsigError code for each ERROR and NACK code of the relay (§3.3). */
export const RELAY_ERROR_TO_CODE: Record<number, ErrorCode> = {
  1: 'E_INVALID_ARGUMENT',
  2: 'E_TRANSPORT',
  3: 'E_TRANSPORT',
  4: 'E_FRAME_TOO_LARGE',
  5: 'E_TRANSPORT',
  6: 'E_FRAME_MALFORMED',
  7: 'E_TRANSPORT',
};

/** What the publisher needs of the transport. */
export interface PublisherHost {
  /** Writes one message on the current socket; false if none is open. */
  send(message: Uint8Array): boolean;
  /** The current socket: a pause armed on one socket does not resume publishing on the next. */
  readonly socket: unknown;
  /** A typed event for the transport's listeners. */
  report(type: TransportEventType, error: SealsigError, extra?: Partial<TransportEvent>): void;
}

/**
 * The PUBLISH message of a held frame: every frame the queue holds is a view of the message publish() encoded
 * for it (#sendPublish keeps the same view), so a frame is copied once however often it is sent; any other
 * frame is encoded here.
 */
function publishMessage(topic: string, frame: Uint8Array): Uint8Array {
  const at = 2 + topic.length;
  if (frame.byteOffset === at && frame.buffer.byteLength === at + frame.length) return new Uint8Array(frame.buffer, 0, at + frame.length);
  return encodePublish(topic, frame);
}

export class Publisher implements TransportPacing {
  readonly #host: PublisherHost;
  readonly #queue: SendQueue;
  readonly #budget: RelayBudget;
  /** The user's publishLimit: a cap on whatever the relay announces. */
  readonly #cap: RateLimit | undefined;
  readonly #now: () => number;
  /**
   * The relay said something on the current socket. A relay sends LIMITS first (§3.5): until then, one frame
   * in flight at most, so that a relay with a lower limit than the default is never sent a default burst
   * (with subscriptions to restore, SUBSCRIBED comes first and nothing waits). A relay older than LIMITS
   * costs one ACK's wait, once per connection.
   */
  #heard = false;
  /** Frames wait for the relay's bucket to refill (no ACK may come to wake them): sends them when it fires. */
  #refill: ReturnType<typeof setTimeout> | undefined;
  /** drained() calls waiting for the backlog to empty. */
  #drainWaiters: { resolve: () => void; reject: (e: SealsigError) => void }[] = [];
  #closed = false;
  /** PUBLISH messages sent on the current socket, without bound (the relay numbers them the same way, §3.1). */
  #published = 0;
  /** The subscriptions of the current socket are restored: publish() writes directly instead of queueing. */
  #ready = false;
  /** After a retryable NACK: frames wait in the queue until this timer fires. */
  #pause: ReturnType<typeof setTimeout> | undefined;
  /**
   * After a pause: one frame is sent alone and the others wait until the relay acknowledges it. Sending the
   * whole queue after every pause made each retry during an outage (NACK 7 while Redis is down) a burst of up
   * to maxQueuedFrames PUBLISHes; each one takes a token of the relay's rate limit, the bucket ran dry, the
   * rest were refused as rate limited and counted as flood drops, and after 200 the relay closed the
   * connection 4008 (seen in faults.test.ts: every publisher closed 4008 after a 2 s Redis outage).
   */
  #probing = false;
  #nacksInARow = 0;

  /**
   * `cap`: the user's publishLimit, if set (the relay's announced PUBLISH limit, else the default, is capped by
   * it); `now`: a monotonic clock in ms.
   */
  constructor(queue: SendQueue, cap: RateLimit | undefined, host: PublisherHost, now: () => number = () => performance.now()) {
    this.#queue = queue;
    this.#host = host;
    this.#now = now;
    this.#cap = cap;
    this.#budget = new RelayBudget(lowerLimit(DEFAULT_PUBLISH_LIMIT, cap), now());
  }

  /** Frames publish() accepted and not sent yet (paced, paused, or waiting for a connection). */
  get backlog(): number {
    return this.#queue.length;
  }

  /** Resolves once the backlog is empty; rejects with E_CLOSED if the transport closes first. */
  drained(): Promise<void> {
    if (this.#closed) return Promise.reject(new SealsigError('E_CLOSED', 'transport is closed'));
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Frames publish() accepted that the relay has not acknowledged yet (waiting, or sent without an ACK). */
  get queuedFrames(): number {
    return this.#queue.length + this.#queue.unacknowledged;
  }

  /** Sends `frame` now if it may go, else queues a copy; throws E_QUEUE_FULL when the queue is full. */
  publish(topic: string, frame: Uint8Array): void {
    this.#queue.reserve(frame.length); // E_QUEUE_FULL before the copy
    const message = encodePublish(topic, frame); // a copy: the queue holds a view of it (see publishMessage)
    if (this.#ready && this.#pause === undefined && !this.#probing && this.#heard && this.#queue.length === 0 && this.#queue.mayFly(frame.length) && this.#budget.allows(this.#now())) {
      if (this.#sendPublish(topic, message)) return;
    }
    this.#queue.push(topic, message.subarray(2 + topic.length), true);
    this.#flush(); // waits for the budget's refill if that is what held it back
  }

  /**
   * A socket opened: the relay counts its PUBLISHes from 1 again. `start`: the count before the first one (0;
   * a test starts near 2^32 to see the wire numbers wrap without sending 2^32 messages).
   */
  opened(start = 0): void {
    this.#published = start;
    this.#heard = false;
    this.#budget.reset(this.#now(), start, lowerLimit(DEFAULT_PUBLISH_LIMIT, this.#cap));
  }

  /** A message of the relay on the current socket (any): it would have sent LIMITS first, if it sends one. */
  heard(): void {
    if (this.#heard) return;
    this.#heard = true;
    this.#flush();
  }

  /** §3.5 LIMITS: the relay's PUBLISH bucket on this socket, capped by the user's publishLimit. */
  limits(announced: RateLimit): void {
    this.#budget.adopt(lowerLimit(announced, this.#cap), this.#now());
    this.#heard = true;
    this.#flush(); // the budget may have grown
  }

  /** The subscriptions of the current socket are restored: what waits is sent. */
  start(): void {
    this.#ready = true;
    this.#flush();
  }

  /** §3.2 ACK: every PUBLISH up to `wire` (its number modulo 2^32, §3.1) is settled. */
  acknowledged(wire: number): void {
    const seq = unwrapSeq(wire, this.#published);
    if (seq === undefined) return; // names no PUBLISH of this socket
    this.#nacksInARow = 0;
    this.#queue.acknowledge(seq);
    this.#budget.acknowledged(seq, this.#now());
    if (this.#probing && this.#queue.unacknowledged === 0) this.#probing = false; // the relay stores frames again: send the rest
    this.#flush(); // the budget grew
  }

  /**
   * §3.2 NACK of PUBLISH `wire` (modulo 2^32, §3.1): a retryable refusal (rate limited, the relay cannot store it now) puts the frame back in front
   * and pauses publishing with a growing delay; any other refusal drops it and says why.
   */
  refused(wire: number, code: number, name: string): void {
    const seq = unwrapSeq(wire, this.#published);
    const item = seq === undefined ? undefined : this.#queue.refused(seq);
    if (!item) return;
    if (!RETRYABLE_NACKS.has(code)) {
      const error = new SealsigError(RELAY_ERROR_TO_CODE[code] ?? 'E_TRANSPORT', `relay refused a frame on ${item.topic} (NACK ${code}, ${name})`);
      this.#host.report('relay-error', error, { relayCode: code, topic: item.topic });
      return;
    }
    this.#queue.putBack(item); // at its place: NACKs in a row must not reverse the frames (send-queue.ts)
    if (this.#pause !== undefined) return;
    const socket = this.#host.socket;
    this.#pause = unref(
      setTimeout(() => {
        this.#pause = undefined;
        this.#probing = true;
        if (this.#host.socket === socket) this.#flush();
      }, backoffDelay(this.#nacksInARow++, { minDelayMs: NACK_RETRY_MS, maxDelayMs: 40 * NACK_RETRY_MS })),
    );
  }

  /** The socket is gone: what it did not acknowledge waits for the next one, which starts with the whole queue. */
  socketGone(): void {
    this.#queue.requeueUnacknowledged(); // sent again on the next socket (§3.2)
    if (this.#pause !== undefined) clearTimeout(this.#pause);
    this.#pause = undefined;
    clearTimeout(this.#refill);
    this.#refill = undefined;
    this.#probing = false;
    this.#ready = false;
  }

  /** close(): everything held is dropped; drained() rejects. */
  close(): void {
    this.socketGone();
    this.#queue.clear();
    this.#closed = true;
    const closed = new SealsigError('E_CLOSED', 'transport is closed');
    for (const w of this.#drainWaiters.splice(0)) w.reject(closed);
  }

  /** Sends a PUBLISH message and holds its frame (a view of the message) until the relay settles it. */
  #sendPublish(topic: string, message: Uint8Array, order?: number): boolean {
    if (!this.#host.send(message)) return false;
    this.#queue.sent(++this.#published, topic, message.subarray(2 + topic.length), order);
    this.#budget.sent();
    return true;
  }

  /**
   * Sends the queued frames in order while the relay has tokens for them; stops (keeping the rest) if the
   * socket fails under it or the relay asked to wait. Then tells drained() callers if nothing waits.
   */
  #flush(): void {
    if (this.#ready && this.#pause === undefined) {
      // After a pause, one frame at a time until the relay takes one again (see `probing`); so too until it said anything (`heard`).
      let n = this.#probing || !this.#heard ? (this.#queue.unacknowledged > 0 ? 0 : 1) : Infinity;
      while (n-- > 0 && this.#queue.length > 0) {
        if (!this.#queue.mayFly(this.#queue.nextSize!)) break; // an ACK of those in flight sends more
        if (!this.#budget.allows(this.#now())) {
          this.#awaitRefill();
          break;
        }
        const item = this.#queue.shift()!;
        if (!this.#sendPublish(item.topic, publishMessage(item.topic, item.frame), item.order)) {
          this.#queue.putBack(item);
          break;
        }
      }
    }
    if (this.#queue.length === 0) for (const w of this.#drainWaiters.splice(0)) w.resolve();
  }

  /**
   * The budget is spent: an ACK of the frames in flight (within the relay's 100 ms) or this timer, whichever
   * comes first, sends more. A late timer only sends later: the budget, not the timer, keeps the rate.
   */
  #awaitRefill(): void {
    if (this.#refill !== undefined) return;
    const socket = this.#host.socket;
    this.#refill = unref(
      setTimeout(() => {
        this.#refill = undefined;
        if (this.#host.socket === socket) this.#flush();
      }, Math.max(1, this.#budget.waitMs(this.#now()))),
    );
  }
}
