/**
 * A sealsig Transport over BroadcastChannel (docs/ADAPTERS.md §1): browser tabs and workers of one origin,
 * or worker_threads of one Node process. One channel per topic, named `${prefix}${topic}`.
 *
 * BroadcastChannel delivers a message to every other channel object of that name, never to the object
 * that posted it. This adapter posts on the topic's subscribed channel when it has one, so it never echoes
 * a publisher's own frames (selfEcho: false); core handles either way.
 *
 * There is no connection: the state is 'open' from creation until close(). Frames travel by structured
 * clone as Uint8Arrays. A message posted before the receiver created its channel is lost (TOOLCHAIN.md);
 * core's hello retries and heartbeats cover that.
 */
import { SealsigError, TransportStateCell } from '@sealsig/core';
import type { FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import { platformBroadcastChannel, type BroadcastChannelConstructor, type BroadcastChannelLike } from './channel.js';

/** Options of createBroadcastChannelTransport(). */
export interface BroadcastChannelTransportOptions {
  /** Prepended to every topic to name its channel (default 'sealsig:'). */
  prefix?: string;
  /** Largest frame published or accepted (default 1 MiB). */
  maxFrameBytes?: number;
  /** The BroadcastChannel constructor (default: the platform's). */
  BroadcastChannel?: BroadcastChannelConstructor;
}

/** Frames this transport dropped on arrival, by reason: nothing received ever throws. */
export interface BroadcastChannelStats {
  /** A message that was not a Uint8Array (another program on the channel name, or a bug). */
  notBytes: number;
  /** A frame larger than maxFrameBytes (E_FRAME_TOO_LARGE). */
  tooLarge: number;
  /** A message the platform could not deserialize ('messageerror'). */
  messageErrors: number;
}

/** The default channel name prefix. */
export const DEFAULT_PREFIX = 'sealsig:';
/** The default largest frame: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

interface Topic {
  channel: BroadcastChannelLike;
  handlers: Set<FrameHandler>;
  onMessage: (event: { data?: unknown }) => void;
  onMessageError: () => void;
}

export class BroadcastChannelTransport implements Transport {
  readonly maxFrameBytes: number;
  /** Frames dropped on arrival, by reason. */
  readonly stats: BroadcastChannelStats = { notBytes: 0, tooLarge: 0, messageErrors: 0 };
  readonly #prefix: string;
  readonly #Channel: BroadcastChannelConstructor;
  #state = new TransportStateCell('open');
  #topics = new Map<string, Topic>();

  constructor(options: BroadcastChannelTransportOptions = {}) {
    if (options === null || typeof options !== 'object') throw new SealsigError('E_INVALID_ARGUMENT', 'options must be an object');
    const { prefix = DEFAULT_PREFIX, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES } = options;
    if (typeof prefix !== 'string') throw new SealsigError('E_INVALID_ARGUMENT', 'prefix must be a string');
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'maxFrameBytes must be a positive integer');
    const Channel = options.BroadcastChannel ?? platformBroadcastChannel();
    if (typeof Channel !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'no BroadcastChannel on this platform: pass options.BroadcastChannel');
    this.#prefix = prefix;
    this.maxFrameBytes = maxFrameBytes;
    this.#Channel = Channel;
  }

  get state(): TransportState {
    return this.#state.value;
  }

  async subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe> {
    this.#assertOpen();
    assertTopic(topic);
    if (typeof onFrame !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'onFrame must be a function');
    const entry = this.#topics.get(topic) ?? this.#open(topic);
    // A wrapper per subscription: two subscriptions with one function stay independent.
    const handler: FrameHandler = (frame) => onFrame(frame);
    entry.handlers.add(handler);
    return async () => {
      if (!entry.handlers.delete(handler) || entry.handlers.size > 0) return;
      if (this.#topics.get(topic) === entry) this.#topics.delete(topic);
      release(entry);
    };
  }

  async publish(topic: string, frame: Uint8Array): Promise<void> {
    this.#assertOpen();
    assertTopic(topic);
    if (!(frame instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'frame must be a Uint8Array');
    if (frame.length > this.maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${this.maxFrameBytes}`);
    // Structured clone copies a view's whole ArrayBuffer: post exactly the frame's bytes.
    const data = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
    const subscribed = this.#topics.get(topic);
    try {
      if (subscribed) subscribed.channel.postMessage(data);
      else {
        // Not subscribed: a short-lived channel. The message is queued to every receiver when posted, so
        // closing right away loses nothing.
        const channel = new this.#Channel(this.#prefix + topic);
        try {
          channel.postMessage(data);
        } finally {
          channel.close();
        }
      }
    } catch (e) {
      throw new SealsigError('E_TRANSPORT', 'BroadcastChannel.postMessage failed', { cause: e });
    }
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    return this.#state.listen(listener);
  }

  async close(): Promise<void> {
    if (this.#state.value === 'closed') return;
    for (const entry of this.#topics.values()) release(entry);
    this.#topics.clear();
    this.#state.set('closed'); // a throwing listener cannot stop close(): the cell isolates it
    this.#state.clear();
  }

  /** Open channels (one per subscribed topic), for leak checks. */
  get openChannels(): number {
    return this.#topics.size;
  }

  #open(topic: string): Topic {
    let channel: BroadcastChannelLike;
    try {
      channel = new this.#Channel(this.#prefix + topic);
    } catch (e) {
      throw new SealsigError('E_TRANSPORT', 'cannot open a BroadcastChannel', { cause: e });
    }
    const entry: Topic = {
      channel,
      handlers: new Set(),
      onMessage: (event) => this.#deliver(entry, event.data),
      onMessageError: () => void this.stats.messageErrors++,
    };
    channel.addEventListener('message', entry.onMessage);
    channel.addEventListener('messageerror', entry.onMessageError);
    this.#topics.set(topic, entry);
    return entry;
  }

  #deliver(entry: Topic, data: unknown): void {
    if (!(data instanceof Uint8Array)) return void this.stats.notBytes++;
    if (data.length > this.maxFrameBytes) return void this.stats.tooLarge++;
    for (const handler of [...entry.handlers]) {
      if (!entry.handlers.has(handler)) continue; // removed by an earlier handler
      // Each subscription gets its own bytes, so one cannot alter what another sees.
      const frame = entry.handlers.size === 1 ? data : data.slice();
      try {
        handler(frame);
      } catch (e) {
        // A subscriber's bug must not stop delivery to the others; surface it like an unhandled error.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #assertOpen(): void {
    if (this.#state.value === 'closed') throw new SealsigError('E_CLOSED', 'transport is closed');
  }
}

function release(entry: Topic): void {
  entry.handlers.clear();
  entry.channel.removeEventListener('message', entry.onMessage);
  entry.channel.removeEventListener('messageerror', entry.onMessageError);
  entry.channel.close();
}

function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new SealsigError('E_INVALID_ARGUMENT', 'topic must be a non-empty string');
}

/** Creates a BroadcastChannel transport (see BroadcastChannelTransport). */
export function createBroadcastChannelTransport(options: BroadcastChannelTransportOptions = {}): BroadcastChannelTransport {
  return new BroadcastChannelTransport(options);
}
