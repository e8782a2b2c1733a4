import { SealsigError, TransportStateCell } from '@sealsig/core';
import type { ErrorCode, FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import { backoffDelay } from './backoff.js';
import { invalid, resolveOptions, type ResolvedOptions, type TransportEvent, type TransportEventType, type WebSocketTransportOptions } from './options.js';
import {
  MAX_TOPIC_BYTES,
  RETRYABLE_NACKS,
  SUBPROTOCOL,
  decodeRelayMessage,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  isValidTopic,
  maxRelayMessageBytes,
  sameEpoch,
} from './protocol.js';
import type { RelayMessage } from './protocol.js';
import { SendQueue } from './send-queue.js';
import { CLOSED, OPEN, resolveWebSocket, type WebSocketLike } from './socket.js';

/** Close codes of the relay protocol (packages/relay/PROTOCOL-RELAY.md §5). */
const CLOSE_SERVICE_RESTART = 1012;
const CLOSE_POLICY_ORIGIN = 1008;
const CLOSE_TOKEN_REJECTED = 4001;
/** A socket close() waits this long for the closing handshake, then drops the connection. */
const CLOSE_GRACE_MS = 1000;
/** An unconfirmed SUBSCRIBE is sent again after 1-2 s, doubling per resend (jittered) up to 8-16 s. */
const SUBSCRIBE_RETRY_MS = 2000;
/** After ERROR 2 (rate limited) on a SUBSCRIBE, the first resend comes after 100-200 ms, then doubling. */
const RATE_LIMITED_RETRY_MS = 200;
/** After a retryable NACK, publishing pauses 100-200 ms, doubling per NACK in a row up to 4-8 s. */
const NACK_RETRY_MS = 200;

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

/** A Transport to a sealsig relay, plus the event listener and the URL it is connected to. */
export interface WebSocketTransport extends Transport {
  /** The relay URL of the current (or last) connection attempt, without the token. */
  readonly url: string;
  /** Frames publish() accepted that the relay has not acknowledged yet (waiting, or sent without an ACK). */
  readonly queuedFrames: number;
  /** Listens to typed events (see TransportEvent); returns a function that removes the listener. */
  onError(listener: (event: TransportEvent) => void): () => void;
  /** Gap signals (the contract's optional onGap, always present here): frames on `topic` may have been missed. */
  onGap(listener: (topic: string) => void): () => void;
}

/**
 * Creates a transport that carries sealsig frames through a relay (protocol v2, see protocol.ts). It
 * connects at once, reconnects with jittered exponential backoff rotating through `urls`, and restores its
 * subscriptions after every reconnect from the last position each one reached, so the relay replays what it
 * missed; when the relay cannot (it restarted, or the frames are gone), the transport raises a gap (onGap)
 * and core announces itself again. Every published frame is kept until the relay acknowledges it and sent
 * again on the next connection if it was not; when that bounded queue is full, publish() rejects with
 * E_QUEUE_FULL (retry later). Throws E_INVALID_ARGUMENT for bad options.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  return new RelayClient(options);
}

class RelayClient implements WebSocketTransport {
  readonly maxFrameBytes: number;
  private readonly options: ResolvedOptions;
  private readonly topics = new Map<string, TopicEntry>();
  private readonly queue: SendQueue;
  private readonly eventListeners = new Set<(event: TransportEvent) => void>();
  private readonly gapListeners = new Set<(topic: string) => void>();
  /** PUBLISH messages sent on the current socket (the relay numbers them the same way, §3.1). */
  private published = 0;
  /** After a retryable NACK: frames wait in the queue until this timer fires. */
  private pause: ReturnType<typeof setTimeout> | undefined;
  /**
   * After a pause: one frame is sent alone and the others wait until the relay acknowledges it. Sending the
   * whole queue after every pause made each retry during an outage (NACK 7 while Redis is down) a burst of up
   * to maxQueuedFrames PUBLISHes; each one takes a token of the relay's rate limit, the bucket ran dry, the
   * rest were refused as rate limited and counted as flood drops, and after 200 the relay closed the
   * connection 4008 (seen in faults.test.ts: every publisher closed 4008 after a 2 s Redis outage).
   */
  private probing = false;
  private nacksInARow = 0;
  private readonly stateCell = new TransportStateCell('connecting', (e) =>
    this.report('listener-error', new SealsigError('E_TRANSPORT', 'a state listener threw', { cause: e })),
  );
  private socket: WebSocketLike | undefined;
  /** The current socket fired 'open' (SUBSCRIBE/UNSUBSCRIBE may be sent). */
  private socketOpen = false;
  /** Subscriptions restored after 'open': publish() writes directly instead of queueing. */
  private ready = false;
  /** Topics whose SUBSCRIBED is awaited before this connection counts as restored. */
  private restoring = new Set<string>();
  private everOpened = false;
  private urlIndex = 0;
  private attempt = 0;
  /** Bumped per connection attempt; callbacks of older attempts do nothing. */
  private generation = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastToken: string | undefined;
  private nextToken: string | undefined;
  private closing: Promise<void> | undefined;
  private shuttingDown = false;
  private closedBy: SealsigError | undefined;

  constructor(options: WebSocketTransportOptions) {
    this.options = resolveOptions(options);
    this.maxFrameBytes = this.options.maxFrameBytes;
    this.queue = new SendQueue(this.options.maxQueuedFrames, this.options.maxQueuedBytes);
    if (options.onError) this.eventListeners.add(options.onError);
    void this.connect();
  }

  get state(): TransportState {
    return this.stateCell.value;
  }

  get url(): string {
    return this.options.urls[this.urlIndex % this.options.urls.length]!;
  }

  get queuedFrames(): number {
    return this.queue.length + this.queue.unacknowledged;
  }

  // ---- Transport -------------------------------------------------------------------------------------

  subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    const unusable = this.unusable();
    if (unusable) return Promise.reject(unusable);
    if (!isValidTopic(topic)) return Promise.reject(invalid(`topic must be 1..${MAX_TOPIC_BYTES} characters of [A-Za-z0-9_-]`));
    if (typeof onFrame !== 'function') return Promise.reject(invalid('onFrame must be a function'));
    const handler: FrameHandler = (frame) => onFrame(frame);
    let entry = this.topics.get(topic);
    if (entry?.live) {
      entry.handlers.add(handler);
      return Promise.resolve(this.unsubscriber(topic, entry, handler));
    }
    return new Promise<Unsubscribe>((resolve, reject) => {
      if (!entry) {
        entry = { handlers: new Set(), waiters: [], acksOutstanding: 0, live: false, retry: undefined, retries: 0, position: undefined };
        this.topics.set(topic, entry);
        this.sendSubscribe(topic, entry);
      }
      entry.waiters.push({ handler, resolve, reject });
    });
  }

  publish(topic: string, frame: Uint8Array): Promise<void> {
    const unusable = this.unusable();
    if (unusable) return Promise.reject(unusable);
    if (!isValidTopic(topic)) return Promise.reject(invalid(`topic must be 1..${MAX_TOPIC_BYTES} characters of [A-Za-z0-9_-]`));
    if (!(frame instanceof Uint8Array)) return Promise.reject(invalid('frame must be a Uint8Array'));
    if (frame.length > this.maxFrameBytes) {
      return Promise.reject(new SealsigError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`));
    }
    try {
      if (this.ready && this.pause === undefined && !this.probing && this.queue.length === 0) {
        this.queue.reserve(frame.length);
        if (this.sendPublish(topic, encodePublish(topic, frame))) return Promise.resolve();
      }
      this.queue.push(topic, frame);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  /** Sends a PUBLISH message and holds its frame (a view of the message) until the relay settles it. */
  private sendPublish(topic: string, message: Uint8Array, order?: number): boolean {
    if (!this.send(message)) return false;
    this.queue.sent(++this.published, topic, message.subarray(2 + topic.length), order);
    return true;
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    return this.stateCell.listen((state) => listener(state)); // a wrapper: one function added twice is heard twice
  }

  onGap(listener: (topic: string) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    const own = (topic: string) => listener(topic);
    this.gapListeners.add(own);
    return () => void this.gapListeners.delete(own);
  }

  onError(listener: (event: TransportEvent) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    const own = (event: TransportEvent) => listener(event);
    this.eventListeners.add(own);
    return () => void this.eventListeners.delete(own);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown(undefined);
    return this.closing;
  }

  /** Ends the transport because the relay refused it for good (origin, token): the error is kept as cause. */
  private closeFatally(error: SealsigError): void {
    this.closing ??= this.shutdown(error);
  }

  // ---- subscriptions ---------------------------------------------------------------------------------

  private unsubscriber(topic: string, entry: TopicEntry, handler: FrameHandler): Unsubscribe {
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (!entry.handlers.delete(handler)) return;
      if (entry.handlers.size > 0 || entry.waiters.length > 0 || this.topics.get(topic) !== entry) return;
      clearTimeout(entry.retry);
      this.topics.delete(topic);
      this.restoring.delete(topic);
      if (this.socketOpen) this.send(encodeUnsubscribe(topic));
      this.checkRestored();
    };
  }

  private sendSubscribe(topic: string, entry: TopicEntry): void {
    if (!this.socketOpen) return; // sent when the socket opens
    if (this.send(encodeSubscribe(topic, entry.position))) entry.acksOutstanding++;
    this.armRetry(topic, entry, backoffDelay(entry.retries, { minDelayMs: SUBSCRIBE_RETRY_MS, maxDelayMs: 8 * SUBSCRIBE_RETRY_MS }));
  }

  /**
   * §3.4 SUBSCRIBED: without RECOVERED, a subscription that had a position may have missed frames (a gap). A
   * resumed one keeps its position (the replay moves it on); a new one, or one after a gap, starts at the head.
   */
  private onSubscribed(topic: string, head: Uint8Array, recovered: boolean): void {
    const entry = this.topics.get(topic);
    if (!entry) return; // unsubscribed meanwhile
    if (entry.position === undefined || !recovered) {
      const gap = entry.position !== undefined;
      entry.position = head;
      if (gap) this.gap(topic);
    }
    if (entry.acksOutstanding > 0) entry.acksOutstanding--;
    if (entry.acksOutstanding > 0) return; // an older SUBSCRIBE's answer; wait for the latest
    entry.live = true;
    entry.retries = 0;
    clearTimeout(entry.retry);
    entry.retry = undefined;
    for (const w of entry.waiters.splice(0)) {
      entry.handlers.add(w.handler);
      w.resolve(this.unsubscriber(topic, entry, w.handler));
    }
    this.restoring.delete(topic);
    this.checkRestored();
  }

  /** A relay ERROR about a topic whose subscription is pending: 1/3/5 mean it will never be live. */
  private failPendingSubscription(topic: string, relayCode: number, error: SealsigError): void {
    const entry = this.topics.get(topic);
    if (!entry || entry.live || (relayCode !== 1 && relayCode !== 3 && relayCode !== 5)) return;
    if (entry.acksOutstanding > 0) entry.acksOutstanding--;
    clearTimeout(entry.retry);
    entry.retry = undefined;
    for (const w of entry.waiters.splice(0)) w.reject(error);
    if (entry.handlers.size === 0) this.topics.delete(topic);
    this.restoring.delete(topic);
    this.checkRestored();
  }

  /** The relay cannot give a subscription everything it missed: core announces itself again (§8.6). */
  private gap(topic: string): void {
    this.report('gap', new SealsigError('E_TRANSPORT', `frames on ${topic} may have been missed (the relay restarted or lost them)`), { topic });
    for (const listener of [...this.gapListeners]) {
      try {
        listener(topic);
      } catch (e) {
        this.report('listener-error', new SealsigError('E_TRANSPORT', 'a gap listener threw', { cause: e }), { topic });
      }
    }
  }

  private deliver(topic: string, position: Uint8Array, frame: Uint8Array): void {
    const entry = this.topics.get(topic);
    if (!entry) return;
    // A frame of another epoch: the stream was lost and began again while this subscription was live.
    const gap = entry.position !== undefined && !sameEpoch(entry.position, position);
    entry.position = position;
    if (gap) this.gap(topic);
    let first = true;
    for (const handler of [...entry.handlers]) {
      const copy = first ? frame : frame.slice(); // each subscription owns its bytes
      first = false;
      try {
        handler(copy);
      } catch (e) {
        this.report('listener-error', new SealsigError('E_TRANSPORT', 'a frame handler threw', { cause: e }), { topic });
      }
    }
  }

  // ---- connection ------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const url = this.url;
    let token: string | undefined;
    let ctor: Awaited<ReturnType<typeof resolveWebSocket>>;
    try {
      token = await this.tokenForAttempt();
      ctor = await resolveWebSocket(this.options.WebSocket);
    } catch (e) {
      if (this.isStale(generation)) return;
      this.report('connection-lost', new SealsigError('E_TRANSPORT', 'could not prepare a connection', { cause: e }));
      this.scheduleReconnect(false);
      return;
    }
    if (this.isStale(generation)) return;
    this.lastToken = token;
    const target = new URL(url);
    if (token !== undefined) target.searchParams.set('token', token);
    let socket: WebSocketLike;
    try {
      socket = ctor.isWs
        ? new ctor.WebSocket(target.href, SUBPROTOCOL, { maxPayload: maxRelayMessageBytes(this.maxFrameBytes) })
        : new ctor.WebSocket(target.href, SUBPROTOCOL);
      socket.binaryType = 'arraybuffer';
    } catch (e) {
      this.report('connection-lost', new SealsigError('E_TRANSPORT', `could not open a WebSocket to ${url}`, { cause: e }));
      this.scheduleReconnect(false);
      return;
    }
    this.socket = socket;
    this.socketOpen = false;
    this.connectTimer = unref(setTimeout(() => this.abandon(socket, 'connection attempt timed out'), this.options.connectTimeoutMs));
    socket.onopen = () => this.onOpen(socket);
    socket.onmessage = (event) => this.onMessage(socket, event.data);
    socket.onerror = () => {}; // a 'close' event follows with the code
    socket.onclose = (event) => this.onClose(socket, event.code, event.reason);
  }

  private isStale(generation: number): boolean {
    return generation !== this.generation || this.shuttingDown;
  }

  private async tokenForAttempt(): Promise<string | undefined> {
    if (this.nextToken !== undefined) {
      const token = this.nextToken;
      this.nextToken = undefined;
      return token;
    }
    const source = this.options.token;
    return typeof source === 'function' ? await source() : source;
  }

  /** The socket opened: restore every subscription; the queue is flushed once they are confirmed. */
  private onOpen(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    this.socketOpen = true;
    this.published = 0;
    this.restoring = new Set();
    for (const [topic, entry] of this.topics) {
      entry.live = false;
      entry.acksOutstanding = 0;
      entry.retries = 0;
      this.restoring.add(topic);
      this.sendSubscribe(topic, entry);
    }
    this.checkRestored();
  }

  private checkRestored(): void {
    if (!this.socketOpen || this.ready || this.restoring.size > 0) return;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.ready = true;
    this.attempt = 0;
    this.everOpened = true;
    this.flush();
    this.setState('open');
  }

  /** Sends the queued frames in order; stops (keeping the rest) if the socket fails under it or the relay asked to wait. */
  private flush(): void {
    if (!this.ready || this.pause !== undefined) return;
    if (this.probing) {
      // One frame at a time until the relay takes one again (see `probing`).
      if (this.queue.unacknowledged > 0) return;
      const item = this.queue.shift();
      if (item && !this.sendPublish(item.topic, encodePublish(item.topic, item.frame), item.order)) this.queue.putBack(item);
      return;
    }
    for (let item = this.queue.shift(); item; item = this.queue.shift()) {
      if (!this.sendPublish(item.topic, encodePublish(item.topic, item.frame), item.order)) {
        this.queue.putBack(item);
        return;
      }
    }
  }

  /**
   * §3.2 NACK: a retryable refusal (rate limited, the relay cannot store it now) puts the frame back in front
   * and pauses publishing with a growing delay; any other refusal drops it and says why.
   */
  private onNack(seq: number, code: number, name: string): void {
    const item = this.queue.refused(seq);
    if (!item) return;
    if (!RETRYABLE_NACKS.has(code)) {
      const error = new SealsigError(RELAY_ERROR_TO_CODE[code] ?? 'E_TRANSPORT', `relay refused a frame on ${item.topic} (NACK ${code}, ${name})`);
      this.report('relay-error', error, { relayCode: code, topic: item.topic });
      return;
    }
    this.queue.putBack(item); // at its place: NACKs in a row must not reverse the frames (send-queue.ts)
    if (this.pause !== undefined) return;
    const socket = this.socket;
    this.pause = unref(
      setTimeout(() => {
        this.pause = undefined;
        this.probing = true;
        if (this.socket === socket) this.flush();
      }, backoffDelay(this.nacksInARow++, { minDelayMs: NACK_RETRY_MS, maxDelayMs: 40 * NACK_RETRY_MS })),
    );
  }

  /** Writes one message if the socket is open; false if it could not. */
  private send(message: Uint8Array): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(message);
      return true;
    } catch {
      return false;
    }
  }

  private onMessage(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    let bytes: Uint8Array | undefined;
    if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') bytes = new Uint8Array(data as ArrayBuffer);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!bytes) {
      this.report('malformed-message', new SealsigError('E_FRAME_MALFORMED', 'relay sent a non-binary message'));
      return;
    }
    const decoded = decodeRelayMessage(bytes, this.maxFrameBytes);
    if (!decoded.ok) {
      this.report('malformed-message', new SealsigError('E_FRAME_MALFORMED', `relay message dropped: ${decoded.reason}`));
      return;
    }
    this.handle(decoded.message);
  }

  private handle(message: RelayMessage): void {
    if (message.op === 'deliver') return this.deliver(message.topic, message.position, message.frame);
    if (message.op === 'ack') {
      this.nacksInARow = 0;
      this.queue.acknowledge(message.seq);
      if (this.probing && this.queue.unacknowledged === 0) {
        this.probing = false; // the relay stores frames again: send the rest
        this.flush();
      }
      return;
    }
    if (message.op === 'nack') return this.onNack(message.seq, message.code, message.name);
    if (message.op === 'subscribed') return this.onSubscribed(message.topic, message.head, message.recovered);
    const code: ErrorCode = RELAY_ERROR_TO_CODE[message.code] ?? 'E_TRANSPORT';
    const where = message.topic ? ` on topic ${message.topic}` : '';
    const error = new SealsigError(code, `relay error ${message.code} (${message.name})${where}: ${message.reason}`);
    this.report('relay-error', error, { relayCode: message.code, ...(message.topic ? { topic: message.topic } : {}) });
    if (!message.topic) return;
    if (message.code === 2 || message.code === 7) this.retrySubscription(message.topic); // rate limited, or the relay cannot read the topic now
    else this.failPendingSubscription(message.topic, message.code, error);
  }

  /**
   * ERROR 2 (rate limited) about a topic whose SUBSCRIBE is unanswered: the relay dropped it, so send it
   * again soon (its token bucket refills). If the ERROR was about a PUBLISH instead, the extra SUBSCRIBE
   * is harmless: the relay answers it with another SUBSCRIBED.
   */
  private retrySubscription(topic: string): void {
    const entry = this.topics.get(topic);
    if (!entry || entry.live || !this.socketOpen) return;
    this.armRetry(topic, entry, backoffDelay(entry.retries, { minDelayMs: RATE_LIMITED_RETRY_MS, maxDelayMs: 8 * SUBSCRIBE_RETRY_MS }));
  }

  /**
   * Sends SUBSCRIBE again if the relay has not confirmed it after `delay`: a relay may drop a
   * rate-limited SUBSCRIBE without an ERROR. Only for the current socket; cleared once live.
   */
  private armRetry(topic: string, entry: TopicEntry, delay: number): void {
    clearTimeout(entry.retry);
    const socket = this.socket;
    entry.retry = unref(
      setTimeout(() => {
        entry.retry = undefined;
        if (this.socket !== socket || this.topics.get(topic) !== entry || entry.live) return;
        entry.retries++;
        entry.acksOutstanding = 0; // the unanswered SUBSCRIBEs are presumed dropped
        this.sendSubscribe(topic, entry);
      }, delay),
    );
  }

  /** Gives up on a socket that did not open (or restore) in time; the close handler reconnects. */
  private abandon(socket: WebSocketLike, why: string): void {
    if (socket !== this.socket) return;
    this.report('connection-lost', new SealsigError('E_TRANSPORT', `${why} (${this.url})`));
    this.detach(socket);
    this.afterSocketGone();
    this.scheduleReconnect(false);
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.detach(socket);
    this.afterSocketGone();
    const url = this.url;
    if (code === CLOSE_POLICY_ORIGIN) {
      this.closeFatally(this.fatal('origin-rejected', `relay refused this origin (close 1008${reason ? `: ${reason}` : ''})`, code, url));
      return;
    }
    if (code === CLOSE_TOKEN_REJECTED) {
      void this.onTokenRejected(code, reason, url);
      return;
    }
    const restart = code === CLOSE_SERVICE_RESTART;
    this.report('connection-lost', new SealsigError('E_TRANSPORT', `connection to ${url} closed (${code}${reason ? `: ${reason}` : ''})`), { closeCode: code });
    this.scheduleReconnect(restart);
  }

  /** Close 4001: ask the token function once more; a new token retries at once, anything else is fatal. */
  private async onTokenRejected(code: number, reason: string, url: string): Promise<void> {
    const generation = this.generation;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');
    const source = this.options.token;
    let next: string | undefined;
    try {
      next = typeof source === 'function' ? await source() : undefined;
    } catch {
      next = undefined;
    }
    if (generation !== this.generation || this.shuttingDown) return;
    if (next === undefined || next === this.lastToken) {
      this.closeFatally(this.fatal('token-rejected', `relay rejected the admission token (close 4001${reason ? `: ${reason}` : ''})`, code, url));
      return;
    }
    this.nextToken = next;
    this.attempt = 0;
    void this.connect();
  }

  private fatal(type: TransportEventType, message: string, closeCode: number, url: string): SealsigError {
    const error = new SealsigError('E_TRANSPORT', message);
    this.report(type, error, { closeCode }, url);
    return error;
  }

  /** Plans the next attempt on the next URL: at once after a relay restart (1012), else after a jittered backoff. */
  private scheduleReconnect(immediately: boolean): void {
    if (this.shuttingDown) return;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting');
    this.urlIndex = (this.urlIndex + 1) % this.options.urls.length;
    // Only the first retry after a working connection is immediate: a relay that keeps answering 1012
    // (draining) must not cause a reconnect loop.
    const backoff = { minDelayMs: this.options.minReconnectDelayMs, maxDelayMs: this.options.maxReconnectDelayMs };
    const delay = immediately && this.attempt === 0 ? 0 : backoffDelay(this.attempt, backoff);
    this.attempt++;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = unref(
      setTimeout(() => {
        this.reconnectTimer = undefined;
        void this.connect();
      }, delay),
    );
  }

  /** Forgets the current socket: nothing is live any more, and publish() queues until restored. */
  private afterSocketGone(): void {
    this.queue.requeueUnacknowledged(); // sent again on the next socket (§3.2)
    if (this.pause !== undefined) clearTimeout(this.pause);
    this.pause = undefined;
    this.probing = false; // a new connection starts with the whole queue
    this.socket = undefined;
    this.socketOpen = false;
    this.ready = false;
    this.restoring = new Set();
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    for (const entry of this.topics.values()) {
      entry.live = false;
      entry.acksOutstanding = 0;
      clearTimeout(entry.retry);
      entry.retry = undefined;
    }
  }

  /** Detaches a socket's handlers and closes it; its events no longer reach the transport. */
  private detach(socket: WebSocketLike): Promise<void> {
    const noop = () => {};
    socket.onopen = noop;
    socket.onmessage = noop;
    socket.onerror = noop; // `ws` throws on an 'error' event without a listener: keep one
    return new Promise<void>((resolve) => {
      if (socket.readyState === CLOSED) {
        socket.onclose = noop;
        resolve();
        return;
      }
      const timer = unref(
        setTimeout(() => {
          (socket as { terminate?: () => void }).terminate?.();
          resolve();
        }, CLOSE_GRACE_MS),
      );
      socket.onclose = () => {
        clearTimeout(timer);
        resolve();
      };
      try {
        socket.close(1000);
      } catch {
        clearTimeout(timer);
        (socket as { terminate?: () => void }).terminate?.();
        resolve();
      }
    });
  }

  /** close() (error undefined) or a fatal relay answer: releases everything, settles every waiter. */
  private async shutdown(error: SealsigError | undefined): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.closedBy = error;
    this.generation++;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const socket = this.socket;
    this.afterSocketGone();
    const rejection = error ?? new SealsigError('E_CLOSED', 'transport is closed');
    for (const entry of this.topics.values()) for (const w of entry.waiters.splice(0)) w.reject(rejection);
    this.topics.clear();
    this.queue.clear();
    if (socket) await this.detach(socket);
    this.setState('closed');
    this.stateCell.clear();
    this.eventListeners.clear();
    this.gapListeners.clear();
  }

  private unusable(): SealsigError | undefined {
    if (this.shuttingDown) {
      return new SealsigError('E_CLOSED', 'transport is closed', this.closedBy ? { cause: this.closedBy } : undefined);
    }
    return undefined;
  }

  private setState(state: TransportState): void {
    this.stateCell.set(state);
  }


  private report(type: TransportEventType, error: SealsigError, extra: Partial<TransportEvent> = {}, url = this.url): void {
    const event: TransportEvent = { type, error, url, ...extra };
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event);
      } catch {
        // an event listener's own failure has nowhere further to go
      }
    }
  }
}

const RELAY_ERROR_TO_CODE: Record<number, ErrorCode> = {
  1: 'E_INVALID_ARGUMENT',
  2: 'E_TRANSPORT',
  3: 'E_TRANSPORT',
  4: 'E_FRAME_TOO_LARGE',
  5: 'E_TRANSPORT',
  6: 'E_FRAME_MALFORMED',
  7: 'E_TRANSPORT',
};

function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
