import { SealsigError, TransportStateCell } from '@sealsig/core';
import type { ErrorCode, FrameHandler, Transport, TransportPacing, TransportState, Unsubscribe } from '@sealsig/core';
import { Connection } from './connection.js';
import { invalid, resolveOptions, type TransportEvent, type TransportEventType, type WebSocketTransportOptions } from './options.js';
import { MAX_TOPIC_BYTES, isValidTopic, type RelayMessage } from './protocol.js';
import { Publisher, RELAY_ERROR_TO_CODE } from './publisher.js';
import { SendQueue } from './send-queue.js';
import { Subscriptions } from './subscriptions.js';

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
  /**
   * The contract's optional pacing, always present here: `backlog` counts the frames publish() accepted that
   * wait to be sent (for the relay's rate limit, `publishLimit`, or for a connection); drained() resolves once
   * none waits.
   */
  readonly pacing: TransportPacing;
}

/**
 * Creates a transport that carries sealsig frames through a relay (protocol v2, see protocol.ts). It
 * connects at once, reconnects with jittered exponential backoff rotating through `urls`, and restores its
 * subscriptions after every reconnect from the last position each one reached, so the relay replays what it
 * missed; when the relay cannot (it restarted, or the frames are gone), the transport raises a gap (onGap)
 * and core announces itself again. Every published frame is kept until the relay acknowledges it and sent
 * again on the next connection if it was not; when that bounded queue is full, publish() rejects with
 * E_QUEUE_FULL (retry later). Frames go out under the relay's rate limit (`publishLimit`), paced by its
 * acknowledgements, never refused for their rate; `pacing` tells how many wait. Throws E_INVALID_ARGUMENT for
 * bad options.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  return new RelayClient(options);
}

/**
 * The parts together: the socket (connection.ts), the subscriptions on it (subscriptions.ts) and the
 * publishes (publisher.ts). A new socket restores the subscriptions first; once the relay confirmed them
 * all, the connection is 'open' and the publishes flow.
 */
class RelayClient implements WebSocketTransport {
  readonly maxFrameBytes: number;
  readonly pacing: TransportPacing;
  readonly #connection: Connection;
  readonly #subscriptions: Subscriptions;
  readonly #publisher: Publisher;
  readonly #eventListeners = new Set<(event: TransportEvent) => void>();
  readonly #stateCell = new TransportStateCell('connecting', (e) =>
    this.#report('listener-error', new SealsigError('E_TRANSPORT', 'a state listener threw', { cause: e })),
  );
  /** The subscriptions of the current socket are restored. */
  #ready = false;
  #closing: Promise<void> | undefined;
  #shuttingDown = false;
  #closedBy: SealsigError | undefined;

  constructor(options: WebSocketTransportOptions) {
    const resolved = resolveOptions(options);
    this.maxFrameBytes = resolved.maxFrameBytes;
    if (options.onError) this.#eventListeners.add(options.onError);
    const report = (type: TransportEventType, error: SealsigError, extra?: Partial<TransportEvent>, url?: string) => this.#report(type, error, extra, url);
    const send = (message: Uint8Array) => this.#connection.send(message);
    this.#connection = new Connection(resolved, {
      opened: () => this.#opened(),
      message: (message) => this.#handle(message),
      gone: () => this.#gone(),
      setState: (state) => this.#stateCell.set(state),
      report,
      fatal: (error) => void (this.#closing ??= this.#shutdown(error)),
    });
    const connection = this.#connection;
    this.#subscriptions = new Subscriptions({
      send,
      get socketOpen() {
        return connection.open;
      },
      get socket() {
        return connection.socket;
      },
      report,
      restoredOne: () => this.#checkRestored(),
    });
    this.#publisher = new Publisher(new SendQueue(resolved.maxQueuedFrames, resolved.maxQueuedBytes), resolved.publishLimit, {
      send,
      get socket() {
        return connection.socket;
      },
      report,
    });
    const publisher = this.#publisher;
    this.pacing = {
      get backlog() {
        return publisher.backlog;
      },
      drained: () => publisher.drained(),
    };
    void this.#connection.connect();
  }

  get state(): TransportState {
    return this.#stateCell.value;
  }

  get url(): string {
    return this.#connection.url;
  }

  get queuedFrames(): number {
    return this.#publisher.queuedFrames;
  }


  subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (!isValidTopic(topic)) return Promise.reject(invalid(`topic must be 1..${MAX_TOPIC_BYTES} characters of [A-Za-z0-9_-]`));
    if (typeof onFrame !== 'function') return Promise.reject(invalid('onFrame must be a function'));
    return this.#subscriptions.subscribe(topic, onFrame);
  }

  publish(topic: string, frame: Uint8Array): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (!isValidTopic(topic)) return Promise.reject(invalid(`topic must be 1..${MAX_TOPIC_BYTES} characters of [A-Za-z0-9_-]`));
    if (!(frame instanceof Uint8Array)) return Promise.reject(invalid('frame must be a Uint8Array'));
    if (frame.length > this.maxFrameBytes) {
      return Promise.reject(new SealsigError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`));
    }
    try {
      this.#publisher.publish(topic, frame);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    return this.#stateCell.listen((state) => listener(state)); // a wrapper: one function added twice is heard twice
  }

  onGap(listener: (topic: string) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    return this.#subscriptions.onGap(listener);
  }

  onError(listener: (event: TransportEvent) => void): () => void {
    if (typeof listener !== 'function') throw invalid('listener must be a function');
    const own = (event: TransportEvent) => listener(event);
    this.#eventListeners.add(own);
    return () => void this.#eventListeners.delete(own);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown(undefined);
    return this.#closing;
  }

  /** The socket opened: restore every subscription; the queue is flushed once they are confirmed. */
  #opened(): void {
    this.#publisher.opened();
    this.#subscriptions.restore();
    this.#checkRestored();
  }

  #checkRestored(): void {
    if (!this.#connection.open || this.#ready || this.#subscriptions.restoring) return;
    this.#connection.restored();
    this.#ready = true;
    this.#publisher.start();
    this.#stateCell.set('open');
  }

  /** Forgets the current socket: nothing is live any more, and publish() queues until restored. */
  #gone(): void {
    this.#ready = false;
    this.#publisher.socketGone();
    this.#subscriptions.socketGone();
  }

  #handle(message: RelayMessage): void {
    if (message.op === 'limits') return this.#publisher.limits(message.publish);
    this.#publisher.heard();
    if (message.op === 'deliver') return this.#subscriptions.deliver(message.topic, message.position, message.frame);
    if (message.op === 'ack') return this.#publisher.acknowledged(message.seq);
    if (message.op === 'nack') return this.#publisher.refused(message.seq, message.code, message.name);
    if (message.op === 'subscribed') return this.#subscriptions.subscribed(message.topic, message.head, message.recovered);
    const code: ErrorCode = RELAY_ERROR_TO_CODE[message.code] ?? 'E_TRANSPORT';
    const where = message.topic ? ` on topic ${message.topic}` : '';
    const error = new SealsigError(code, `relay error ${message.code} (${message.name})${where}: ${message.reason}`);
    this.#report('relay-error', error, { relayCode: message.code, ...(message.topic ? { topic: message.topic } : {}) });
    if (message.topic) this.#subscriptions.error(message.topic, message.code, error);
  }

  /** close() (error undefined) or a fatal relay answer: releases everything, settles every waiter. */
  async #shutdown(error: SealsigError | undefined): Promise<void> {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#closedBy = error;
    const stopped = this.#connection.stop();
    this.#subscriptions.close(error ?? new SealsigError('E_CLOSED', 'transport is closed'));
    this.#publisher.close();
    await stopped;
    this.#stateCell.set('closed');
    this.#stateCell.clear();
    this.#eventListeners.clear();
  }

  #unusable(): SealsigError | undefined {
    if (this.#shuttingDown) {
      return new SealsigError('E_CLOSED', 'transport is closed', this.#closedBy ? { cause: this.#closedBy } : undefined);
    }
    return undefined;
  }

  #report(type: TransportEventType, error: SealsigError, extra: Partial<TransportEvent> = {}, url = this.#connection.url): void {
    const event: TransportEvent = { type, error, url, ...extra };
    for (const listener of [...this.#eventListeners]) {
      try {
        listener(event);
      } catch {
        // an event listener's own failure has nowhere further to go
      }
    }
  }
}
