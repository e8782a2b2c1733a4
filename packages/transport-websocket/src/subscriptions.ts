/**
 * The transport's subscriptions (PROTOCOL-RELAY.md §3.1, §3.2, §3.4): one relay subscription per topic,
 * shared by every subscribe() call on it; SUBSCRIBE sent again until the relay confirms it; every
 * subscription restored on each new socket from the last position it reached, so the relay replays what it
 * missed; and a gap raised (onGap) when the relay cannot.
 */
import { SealsigError, type FrameHandler, type Unsubscribe } from '@sealsig/core';
import { backoffDelay } from './backoff.js';
import type { TransportEvent, TransportEventType } from './options.js';
import { encodeSubscribe, encodeUnsubscribe, sameEpoch } from './protocol.js';
import { unref } from './timers.js';

/** An unconfirmed SUBSCRIBE is sent again after 1-2 s, doubling per resend (jittered) up to 8-16 s. */
const SUBSCRIBE_RETRY_MS = 2000;
/** After ERROR 2 (rate limited) on a SUBSCRIBE, the first resend comes after 100-200 ms, then doubling. */
const RATE_LIMITED_RETRY_MS = 200;

interface Waiter {
  handler: FrameHandler;
  resolve: (unsubscribe: Unsubscribe) => void;
  reject: (error: SealsigError) => void;
}

/** One relay subscription, shared by every subscribe() call on its topic. */
interface TopicEntry {
  /** Confirmed subscriptions: each call's own wrapper, so equal functions stay independent. */
  handlers: Set<FrameHandler>;
  /** subscribe() calls waiting for the relay's SUBSCRIBED. */
  waiters: Waiter[];
  /** SUBSCRIBE messages sent on the current socket and not yet answered. */
  acksOutstanding: number;
  live: boolean;
  /** Resends SUBSCRIBE while the relay has not confirmed it (see armRetry). */
  retry: ReturnType<typeof setTimeout> | undefined;
  /** The last position this subscription reached (24 bytes), sent with SUBSCRIBE to resume from it (§3.4). */
  position: Uint8Array | undefined;
  /** SUBSCRIBE resends on this socket, for their backoff. */
  retries: number;
}

/** What the subscriptions need of the transport. */
export interface SubscriptionsHost {
  /** Writes one message on the current socket; false if none is open. */
  send(message: Uint8Array): boolean;
  /** Whether the current socket is open (SUBSCRIBE may be sent). */
  readonly socketOpen: boolean;
  /** The current socket: a resend armed on one socket is not sent on the next. */
  readonly socket: unknown;
  /** A typed event for the transport's listeners. */
  report(type: TransportEventType, error: SealsigError, extra?: Partial<TransportEvent>): void;
  /** A subscription being restored was confirmed or failed (see `restoring`). */
  restoredOne(): void;
}

export class Subscriptions {
  readonly #host: SubscriptionsHost;
  readonly #topics = new Map<string, TopicEntry>();
  readonly #gapListeners = new Set<(topic: string) => void>();
  /** Topics whose SUBSCRIBED is awaited before the current connection counts as restored. */
  #restoring = new Set<string>();

  constructor(host: SubscriptionsHost) {
    this.#host = host;
  }

  /** Whether some subscription of the current socket is not confirmed yet. */
  get restoring(): boolean {
    return this.#restoring.size > 0;
  }

  /** Subscribes `topic` (valid: checked by the caller); resolves once the relay confirmed it. */
  subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    const handler: FrameHandler = (frame) => onFrame(frame);
    let entry = this.#topics.get(topic);
    if (entry?.live) {
      entry.handlers.add(handler);
      return Promise.resolve(this.#unsubscriber(topic, entry, handler));
    }
    return new Promise<Unsubscribe>((resolve, reject) => {
      if (!entry) {
        entry = { handlers: new Set(), waiters: [], acksOutstanding: 0, live: false, retry: undefined, retries: 0, position: undefined };
        this.#topics.set(topic, entry);
        this.#sendSubscribe(topic, entry);
      }
      entry.waiters.push({ handler, resolve, reject });
    });
  }

  onGap(listener: (topic: string) => void): () => void {
    const own = (topic: string) => listener(topic);
    this.#gapListeners.add(own);
    return () => void this.#gapListeners.delete(own);
  }

  /** A socket opened: every subscription is sent again, from its position (§3.4). */
  restore(): void {
    this.#restoring = new Set();
    for (const [topic, entry] of this.#topics) {
      entry.live = false;
      entry.acksOutstanding = 0;
      entry.retries = 0;
      this.#restoring.add(topic);
      this.#sendSubscribe(topic, entry);
    }
  }

  /**
   * §3.4 SUBSCRIBED: without RECOVERED, a subscription that had a position may have missed frames (a gap). A
   * resumed one keeps its position (the replay moves it on); a new one, or one after a gap, starts at the head.
   */
  subscribed(topic: string, head: Uint8Array, recovered: boolean): void {
    const entry = this.#topics.get(topic);
    if (!entry) return; // unsubscribed meanwhile
    if (entry.position === undefined || !recovered) {
      const gap = entry.position !== undefined;
      entry.position = head;
      if (gap) this.#gap(topic);
    }
    if (entry.acksOutstanding > 0) entry.acksOutstanding--;
    if (entry.acksOutstanding > 0) return; // an older SUBSCRIBE's answer; wait for the latest
    entry.live = true;
    entry.retries = 0;
    clearTimeout(entry.retry);
    entry.retry = undefined;
    for (const w of entry.waiters.splice(0)) {
      entry.handlers.add(w.handler);
      w.resolve(this.#unsubscriber(topic, entry, w.handler));
    }
    this.#restored(topic);
  }

  /**
   * A relay ERROR about `topic`: 2 (rate limited) or 7 (the relay cannot read it now) retry an unanswered
   * SUBSCRIBE soon; 1, 3 and 5 mean a pending subscription will never be live.
   */
  error(topic: string, relayCode: number, error: SealsigError): void {
    if (relayCode === 2 || relayCode === 7) this.#retrySubscription(topic);
    else this.#failPending(topic, relayCode, error);
  }

  deliver(topic: string, position: Uint8Array, frame: Uint8Array): void {
    const entry = this.#topics.get(topic);
    if (!entry) return;
    // A frame of another epoch: the stream was lost and began again while this subscription was live.
    const gap = entry.position !== undefined && !sameEpoch(entry.position, position);
    entry.position = position;
    if (gap) this.#gap(topic);
    let first = true;
    for (const handler of [...entry.handlers]) {
      const copy = first ? frame : frame.slice(); // each subscription owns its bytes
      first = false;
      try {
        handler(copy);
      } catch (e) {
        this.#host.report('listener-error', new SealsigError('E_TRANSPORT', 'a frame handler threw', { cause: e }), { topic });
      }
    }
  }

  /** The socket is gone: nothing is live any more until restore(). */
  socketGone(): void {
    this.#restoring = new Set();
    for (const entry of this.#topics.values()) {
      entry.live = false;
      entry.acksOutstanding = 0;
      clearTimeout(entry.retry);
      entry.retry = undefined;
    }
  }

  /** close(): every pending subscribe() rejects with `rejection`; listeners go. */
  close(rejection: SealsigError): void {
    for (const entry of this.#topics.values()) {
      clearTimeout(entry.retry);
      for (const w of entry.waiters.splice(0)) w.reject(rejection);
    }
    this.#topics.clear();
    this.#gapListeners.clear();
  }

  #restored(topic: string): void {
    if (this.#restoring.delete(topic)) this.#host.restoredOne();
  }

  #unsubscriber(topic: string, entry: TopicEntry, handler: FrameHandler): Unsubscribe {
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (!entry.handlers.delete(handler)) return;
      if (entry.handlers.size > 0 || entry.waiters.length > 0 || this.#topics.get(topic) !== entry) return;
      clearTimeout(entry.retry);
      this.#topics.delete(topic);
      if (this.#host.socketOpen) this.#host.send(encodeUnsubscribe(topic));
      this.#restored(topic);
    };
  }

  #sendSubscribe(topic: string, entry: TopicEntry): void {
    if (!this.#host.socketOpen) return; // sent when the socket opens
    if (this.#host.send(encodeSubscribe(topic, entry.position))) entry.acksOutstanding++;
    this.#armRetry(topic, entry, backoffDelay(entry.retries, { minDelayMs: SUBSCRIBE_RETRY_MS, maxDelayMs: 8 * SUBSCRIBE_RETRY_MS }));
  }

  #failPending(topic: string, relayCode: number, error: SealsigError): void {
    const entry = this.#topics.get(topic);
    if (!entry || entry.live || (relayCode !== 1 && relayCode !== 3 && relayCode !== 5)) return;
    if (entry.acksOutstanding > 0) entry.acksOutstanding--;
    clearTimeout(entry.retry);
    entry.retry = undefined;
    for (const w of entry.waiters.splice(0)) w.reject(error);
    if (entry.handlers.size === 0) this.#topics.delete(topic);
    this.#restored(topic);
  }

  /** The relay cannot give a subscription everything it missed: core announces itself again (§8.6). */
  #gap(topic: string): void {
    this.#host.report('gap', new SealsigError('E_TRANSPORT', `frames on ${topic} may have been missed (the relay restarted or lost them)`), { topic });
    for (const listener of [...this.#gapListeners]) {
      try {
        listener(topic);
      } catch (e) {
        this.#host.report('listener-error', new SealsigError('E_TRANSPORT', 'a gap listener threw', { cause: e }), { topic });
      }
    }
  }

  /**
   * ERROR 2 (rate limited) about a topic whose SUBSCRIBE is unanswered: the relay dropped it, so send it
   * again soon (its token bucket refills). If the ERROR was about a PUBLISH instead, the extra SUBSCRIBE
   * is harmless: the relay answers it with another SUBSCRIBED.
   */
  #retrySubscription(topic: string): void {
    const entry = this.#topics.get(topic);
    if (!entry || entry.live || !this.#host.socketOpen) return;
    this.#armRetry(topic, entry, backoffDelay(entry.retries, { minDelayMs: RATE_LIMITED_RETRY_MS, maxDelayMs: 8 * SUBSCRIBE_RETRY_MS }));
  }

  /**
   * Sends SUBSCRIBE again if the relay has not confirmed it after `delay`: a relay may drop a
   * rate-limited SUBSCRIBE without an ERROR. Only for the current socket; cleared once live.
   */
  #armRetry(topic: string, entry: TopicEntry, delay: number): void {
    clearTimeout(entry.retry);
    const socket = this.#host.socket;
    entry.retry = unref(
      setTimeout(() => {
        entry.retry = undefined;
        if (this.#host.socket !== socket || this.#topics.get(topic) !== entry || entry.live) return;
        entry.retries++;
        entry.acksOutstanding = 0; // the unanswered SUBSCRIBEs are presumed dropped
        this.#sendSubscribe(topic, entry);
      }, delay),
    );
  }
}
