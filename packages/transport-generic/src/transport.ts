/**
 * A sealsig Transport over any existing signaler (docs/ADAPTERS.md §6): the app hands over a send
 * function and a message callback, and, if its signaler needs them, join/leave hooks and its connection
 * state. sealsig then drops into a socket.io server, a custom WebSocket server or RTCMultiConnection's
 * openSignalingChannel pattern without changing the server.
 *
 * Incoming messages are untrusted: a bad one is dropped, counted in `stats` and reported to `onError`,
 * never thrown back into the signaler's callback.
 */
import { DEFAULT_MAX_FRAME_BYTES, SealsigError, TransportStateCell, toBase64Url } from '@sealsig/core';
import type { FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import { copyBytes, decode, type Encoding } from './codec.js';

/** Options of createGenericTransport(): the signaler's send and receive hooks. */
export interface GenericTransportOptions {
  /** Sends one message on a topic (an emit, a ws.send of your own envelope...). May return a promise. */
  send(topic: string, data: Uint8Array | string): void | Promise<void>;
  /** Registers the callback for incoming messages; returns a function that removes it. */
  onMessage(listener: (topic: unknown, data: unknown) => void): () => void;
  /** 'binary' sends Uint8Arrays (default); 'base64url' sends unpadded base64url text. */
  encoding?: Encoding;
  /** Largest frame sent or accepted, in bytes (default 64 KiB). */
  maxFrameBytes?: number;
  /** Joins a topic on the signaler (a room); called once per topic, and again after a reconnect. */
  subscribe?(topic: string): void | Promise<void>;
  /** Leaves a topic; called when its last subscription goes and on close(). */
  unsubscribe?(topic: string): void | Promise<void>;
  /** Whether the signaler is connected now (default: always). */
  connected?(): boolean;
  /**
   * Tells the transport about the signaler's connection: false → 'reconnecting'; true → topics are joined
   * again (subscribe hook), then 'open'. Returns a function that removes the listener.
   */
  onConnectionChange?(listener: (connected: boolean) => void): () => void;
  /** Dropped incoming messages and failed leave calls, as typed errors (never thrown). */
  onError?(error: SealsigError): void;
  /** Runs at the end of close(), e.g. to disconnect a socket that belongs to this transport only. */
  onClose?(): void | Promise<void>;
}

/** Incoming messages dropped or ignored, by reason. */
export interface GenericTransportStats {
  /** Incoming messages dropped as E_FRAME_MALFORMED (wrong type, bad base64url, a non-string topic). */
  malformed: number;
  /** Incoming messages dropped as E_FRAME_TOO_LARGE. */
  tooLarge: number;
  /** Messages for topics this transport does not subscribe to (not an error: the signaler's business). */
  ignored: number;
}


interface TopicEntry {
  handlers: Set<FrameHandler>;
  /** Settles once the signaler joined the topic. */
  joined: Promise<void>;
}

export class GenericTransport implements Transport {
  readonly maxFrameBytes: number;
  /** How frames travel (GenericTransportOptions.encoding). */
  readonly encoding: Encoding;
  /** Incoming messages dropped or ignored. */
  readonly stats: GenericTransportStats = { malformed: 0, tooLarge: 0, ignored: 0 };
  readonly #o: GenericTransportOptions;
  #state: TransportStateCell;
  #topics = new Map<string, TopicEntry>();
  #detach: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  /** Counts connection changes, so a slow rejoin never reports 'open' after a newer disconnect. */
  #generation = 0;

  constructor(options: GenericTransportOptions) {
    if (options === null || typeof options !== 'object') throw new SealsigError('E_INVALID_ARGUMENT', 'options must be an object');
    if (typeof options.send !== 'function' || typeof options.onMessage !== 'function') {
      throw new SealsigError('E_INVALID_ARGUMENT', 'options.send and options.onMessage must be functions');
    }
    const { encoding = 'binary', maxFrameBytes = DEFAULT_MAX_FRAME_BYTES } = options;
    if (encoding !== 'binary' && encoding !== 'base64url') throw new SealsigError('E_INVALID_ARGUMENT', "encoding must be 'binary' or 'base64url'");
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'maxFrameBytes must be a positive integer');
    for (const hook of ['subscribe', 'unsubscribe', 'connected', 'onConnectionChange', 'onError', 'onClose'] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', `options.${hook} must be a function`);
    }
    this.#o = options;
    this.encoding = encoding;
    this.maxFrameBytes = maxFrameBytes;
    this.#state = new TransportStateCell(options.connected === undefined || options.connected() ? 'open' : 'connecting', rethrowLater);
    this.#detach.push(options.onMessage((topic, data) => this.#receive(topic, data)));
    if (options.onConnectionChange) this.#detach.push(options.onConnectionChange((up) => void this.#connectionChanged(up)));
  }

  get state(): TransportState {
    return this.#state.value;
  }

  async subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    this.#assertOpen();
    assertTopic(topic);
    if (typeof onFrame !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'onFrame must be a function');
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      entry = { handlers: new Set(), joined: this.#join(topic) };
      this.#topics.set(topic, entry);
      const created = entry;
      created.joined.catch(() => {
        if (this.#topics.get(topic) === created) this.#topics.delete(topic); // let the next subscribe retry
      });
    }
    await entry.joined;
    this.#assertOpen();
    // A wrapper per subscription: two subscriptions with one function stay independent.
    const handler: FrameHandler = (frame) => onFrame(frame);
    entry.handlers.add(handler);
    const owner = entry;
    return async () => {
      if (!owner.handlers.delete(handler) || owner.handlers.size > 0 || this.#topics.get(topic) !== owner) return;
      this.#topics.delete(topic);
      await this.#leave(topic);
    };
  }

  async publish(topic: string, frame: Uint8Array): Promise<void> {
    this.#assertOpen();
    assertTopic(topic);
    if (!(frame instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'frame must be a Uint8Array');
    if (frame.length > this.maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${this.maxFrameBytes}`);
    // Binary: a copy, so the signaler may keep or transfer it without touching the caller's array.
    const data = this.encoding === 'binary' ? copyBytes(frame) : toBase64Url(frame);
    try {
      await this.#o.send(topic, data);
    } catch (e) {
      throw new SealsigError('E_TRANSPORT', 'the signaler failed to send', { cause: e });
    }
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    return this.#state.listen(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const topics = [...this.#topics.keys()];
    this.#topics.clear();
    for (const detach of this.#detach.splice(0)) safely(detach);
    this.#state.set('closed');
    this.#state.clear();
    await Promise.all(topics.map((t) => this.#leave(t)));
    if (this.#o.onClose) {
      try {
        await this.#o.onClose();
      } catch (e) {
        this.#report(new SealsigError('E_TRANSPORT', 'onClose failed', { cause: e }));
      }
    }
  }

  #receive(topic: unknown, data: unknown): void {
    if (this.#state.value === 'closed') return;
    try {
      if (typeof topic !== 'string') throw new SealsigError('E_FRAME_MALFORMED', 'message without a string topic');
      const entry = this.#topics.get(topic);
      if (entry === undefined || entry.handlers.size === 0) return void this.stats.ignored++;
      const frame = decode(data, this.encoding, this.maxFrameBytes);
      const handlers = [...entry.handlers];
      for (const [i, handler] of handlers.entries()) {
        if (!entry.handlers.has(handler)) continue;
        // Each subscription gets its own bytes, so one cannot alter what another sees.
        const own = i === handlers.length - 1 ? frame : frame.slice();
        try {
          handler(own);
        } catch (e) {
          // A subscriber's bug must not reach the signaler or the other subscribers.
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    } catch (e) {
      // Nothing is thrown back into the signaler's callback: count, report, drop.
      const error = e instanceof SealsigError ? e : new SealsigError('E_FRAME_MALFORMED', 'undecodable message', { cause: e });
      if (error.code === 'E_FRAME_TOO_LARGE') this.stats.tooLarge++;
      else this.stats.malformed++;
      this.#report(error);
    }
  }

  async #connectionChanged(up: boolean): Promise<void> {
    if (this.#state.value === 'closed') return;
    const generation = ++this.#generation;
    if (!up) return this.#state.set('reconnecting');
    // Rooms are per connection on most servers: join every topic again before reporting 'open'.
    const rejoins = [...this.#topics.keys()].map((topic) =>
      this.#join(topic).catch((e: unknown) => this.#report(e instanceof SealsigError ? e : new SealsigError('E_TRANSPORT', 'rejoin failed', { cause: e }))),
    );
    await Promise.all(rejoins);
    // Not if the transport closed meanwhile, or the connection changed again (a newer call decides).
    if (!this.#isClosed() && generation === this.#generation) this.#state.set('open');
  }

  async #join(topic: string): Promise<void> {
    if (!this.#o.subscribe) return;
    try {
      await this.#o.subscribe(topic);
    } catch (e) {
      throw new SealsigError('E_TRANSPORT', 'the signaler failed to subscribe', { cause: e });
    }
  }

  async #leave(topic: string): Promise<void> {
    if (!this.#o.unsubscribe) return;
    try {
      await this.#o.unsubscribe(topic);
    } catch (e) {
      this.#report(new SealsigError('E_TRANSPORT', 'the signaler failed to unsubscribe', { cause: e }));
    }
  }

  #report(error: SealsigError): void {
    if (this.#o.onError) safely(() => this.#o.onError!(error));
  }

  #isClosed(): boolean {
    return this.#state.value === 'closed';
  }

  #assertOpen(): void {
    if (this.#state.value === 'closed') throw new SealsigError('E_CLOSED', 'transport is closed');
  }
}

/** Runs an app callback; its exception must not break the transport (surfaced asynchronously instead). */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    rethrowLater(e);
  }
}

/** An app callback's error surfaces as an uncaught exception, outside this adapter's control flow. */
function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}

function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new SealsigError('E_INVALID_ARGUMENT', 'topic must be a non-empty string');
}

/** Wraps an existing signaler as a sealsig Transport (see GenericTransport). */
export function createGenericTransport(options: GenericTransportOptions): GenericTransport {
  return new GenericTransport(options);
}
