/**
 * createPubSubTransport(): the sealsig Transport (docs/ADAPTERS.md §1) over any PubSubClient.
 *
 * Topics map one-to-one to `prefix + topic` channels (src/channel.ts). Frames travel wrapped
 * (src/wire.ts): whole when they fit the service's message limit, otherwise in chunks that receivers
 * reassemble within bounds (src/reassembly.ts). Text-only services carry base64url (src/text.ts). Bad
 * input from the service is dropped, counted in `stats` and reported to onError listeners as a
 * SealsigError; nothing is ever thrown into the client library's callbacks (docs/PROTOCOL.md §8.4).
 */
import { DEFAULT_MAX_FRAME_BYTES, SealsigError, TransportStateCell, isSealsigError } from '@sealsig/core';
import type { ErrorCode, FrameHandler, Transport, TransportState, Unsubscribe } from '@sealsig/core';
import type { PubSubClient, PubSubMessage } from './client.js';
import { channelFor, checkTopic } from './channel.js';
import { DEFAULT_REASSEMBLY_LIMITS, Reassembler } from './reassembly.js';
import type { ReassemblyLimits } from './reassembly.js';
import { base64UrlCapacity, decodeText, encodeText } from './text.js';
import { CHUNK_HEADER_BYTES, MAX_CHUNK_COUNT, decodeMessage, encodeMessages } from './wire.js';

/** Options of createPubSubTransport(). */
export interface PubSubTransportOptions {
  /** Prepended to every topic to form the channel name (default 'sealsig.'). */
  prefix?: string;
  /** The largest frame publish() accepts and receivers reassemble (default 65 536, core's default). */
  maxFrameBytes?: number;
  /** The largest chunk count accepted for one incoming frame (default: enough for maxFrameBytes here, at least 64). */
  maxChunks?: number;
  /** Bounds of the reassembly buffers (defaults: 32 frames, 1 MiB, 10 s). */
  reassembly?: Partial<ReassemblyLimits>;
  /** publish() rejects with E_TRANSPORT when the client has not taken a message after this long (default 10 000 ms). */
  publishTimeoutMs?: number;
  /** Hears every dropped incoming message (same as transport.onError()). */
  onError?: (error: SealsigError) => void;
}

/** The pub/sub adapter's counters. */
export interface PubSubStats {
  /** Service messages received on subscribed channels. */
  messagesIn: number;
  /** Service messages published (chunks count one each). */
  messagesOut: number;
  /** Frames delivered to subscribers (whole or reassembled). */
  framesIn: number;
  /** Frames published. */
  framesOut: number;
  /** Chunks received again after their index was already held (ignored). */
  duplicateChunks: number;
  /** Incoming messages dropped, by error code. */
  dropped: Partial<Record<ErrorCode, number>>;
  /** Frames in reassembly right now, and the chunk bytes they hold. */
  pendingFrames: number;
  /** Chunk bytes those frames hold. */
  pendingBytes: number;
}

/** A Transport with the pub/sub adapter's counters and error reports. */
export interface PubSubTransport extends Transport {
  /** The adapter's counters. */
  readonly stats: PubSubStats;
  /** Listens to dropped incoming messages (typed SealsigErrors); returns the remover. */
  onError(listener: (error: SealsigError) => void): () => void;
}

interface ChannelSubscription {
  handlers: Set<FrameHandler>;
  /** Resolves with the client's unsubscribe function once the subscription is live. */
  live: Promise<() => Promise<void>>;
}

/** A sealsig Transport over a pub/sub client (bindings/ for mqtt.js, ioredis, nats and PubNub). */
export function createPubSubTransport(client: PubSubClient, options: PubSubTransportOptions = {}): PubSubTransport {
  const prefix = options.prefix ?? 'sealsig.';
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
  if (typeof prefix !== 'string') throw new SealsigError('E_INVALID_ARGUMENT', 'prefix must be a string');
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) throw new SealsigError('E_INVALID_ARGUMENT', 'maxFrameBytes must be a positive integer');
  // Bytes of one service message: text services carry 3 bytes per 4 characters of base64url.
  const capacity = client.binary ? client.maxMessageBytes : base64UrlCapacity(client.maxMessageBytes);
  if (!Number.isSafeInteger(capacity) || capacity <= CHUNK_HEADER_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `the client's maxMessageBytes (${client.maxMessageBytes}) leaves no room for a chunk`);
  }
  const ownChunks = Math.ceil(maxFrameBytes / (capacity - CHUNK_HEADER_BYTES));
  if (ownChunks > MAX_CHUNK_COUNT) throw new SealsigError('E_INVALID_ARGUMENT', `maxFrameBytes needs ${ownChunks} chunks; at most ${MAX_CHUNK_COUNT}`);
  const maxChunks = Math.min(MAX_CHUNK_COUNT, options.maxChunks ?? Math.max(64, ownChunks));
  const limits = { maxFrameBytes, maxChunks };
  // The largest raw message a valid sender produces: a chunk header plus up to a whole frame.
  const maxIncomingBytes = CHUNK_HEADER_BYTES + maxFrameBytes;
  const checkChannel = client.checkChannel?.bind(client);
  channelFor(prefix, 'x', checkChannel); // refuses a prefix the service cannot use

  const errorListeners = new Set<(error: SealsigError) => void>();
  if (options.onError) errorListeners.add(options.onError);
  const subscriptions = new Map<string, ChannelSubscription>();
  const leaving = new Map<string, Promise<void>>(); // topic -> the client unsubscribe in flight
  const counters = { messagesIn: 0, messagesOut: 0, framesIn: 0, framesOut: 0, duplicateChunks: 0 };
  const dropped: Partial<Record<ErrorCode, number>> = {};
  let closed = false;
  const state = new TransportStateCell(client.state ?? 'open');

  const report = (error: SealsigError): void => {
    dropped[error.code] = (dropped[error.code] ?? 0) + 1;
    for (const listener of [...errorListeners]) {
      try {
        listener(error);
      } catch {
        // A listener's failure is its own; the transport carries on.
      }
    }
  };
  const reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY_LIMITS, ...options.reassembly }, report);

  const removeClientStateListener = client.onState?.((next) => {
    if (!closed) state.set(next === 'closed' ? 'reconnecting' : next);
  });

  const deliver = (topic: string, frame: Uint8Array): void => {
    const subscription = subscriptions.get(topic);
    if (!subscription) return;
    counters.framesIn++;
    for (const handler of [...subscription.handlers]) {
      try {
        handler(frame);
      } catch {
        // An app handler that throws must not break the client library's dispatch loop.
      }
    }
  };

  /** Everything that arrives on a subscribed channel goes through here; it never throws. */
  const receive = (topic: string, message: PubSubMessage): void => {
    if (closed) return;
    counters.messagesIn++;
    try {
      let bytes: Uint8Array;
      if (client.binary) {
        if (!(message instanceof Uint8Array)) throw new SealsigError('E_FRAME_MALFORMED', `a binary service delivered a ${typeof message}`);
        if (message.length > maxIncomingBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `a ${message.length}-byte message exceeds ${maxIncomingBytes} bytes`);
        bytes = message;
      } else {
        bytes = decodeText(message, maxIncomingBytes);
      }
      const decoded = decodeMessage(bytes, limits);
      if (decoded.kind === 'whole') return deliver(topic, decoded.frame);
      const result = reassembler.add(topic, decoded.chunk);
      if (result.status === 'complete') deliver(topic, result.frame);
      else if (result.status === 'duplicate') counters.duplicateChunks++;
      else if (result.status === 'dropped') report(result.error);
    } catch (e) {
      report(isSealsigError(e) ? e : new SealsigError('E_FRAME_MALFORMED', 'undecodable message', { cause: e }));
    }
  };

  const assertOpen = (): void => {
    if (closed) throw new SealsigError('E_CLOSED', 'transport is closed');
  };

  const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SealsigError('E_TRANSPORT', `${what} did not complete within ${publishTimeoutMs} ms`)), publishTimeoutMs);
      (timer as { unref?: () => void }).unref?.();
      promise.then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });

  const newMessageId = (): Uint8Array => crypto.getRandomValues(new Uint8Array(8));

  const subscribe = async (topic: string, onFrame: FrameHandler): Promise<Unsubscribe> => {
    assertOpen();
    checkTopic(topic);
    if (typeof onFrame !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'the frame handler must be a function');
    const channel = channelFor(prefix, topic, checkChannel);
    await leaving.get(topic); // a previous client unsubscribe of this channel finishes first
    assertOpen();
    let subscription = subscriptions.get(topic);
    if (!subscription) {
      const created: ChannelSubscription = {
        handlers: new Set(),
        live: Promise.resolve().then(() => client.subscribe(channel, (message) => receive(topic, message))),
      };
      subscription = created;
      subscriptions.set(topic, created);
      created.live.catch(() => {
        if (subscriptions.get(topic) === created) subscriptions.delete(topic);
      });
    }
    try {
      await subscription.live;
    } catch (e) {
      if (closed) throw new SealsigError('E_CLOSED', 'transport closed while subscribing');
      throw isSealsigError(e) ? e : new SealsigError('E_TRANSPORT', `subscribing to ${channel} failed`, { cause: e });
    }
    assertOpen();
    const handler: FrameHandler = (frame) => onFrame(frame); // distinct even when onFrame is reused
    const current = subscription;
    current.handlers.add(handler);
    let done = false;
    return async () => {
      if (done || closed) return;
      done = true;
      current.handlers.delete(handler);
      if (current.handlers.size > 0 || subscriptions.get(topic) !== current) return;
      subscriptions.delete(topic);
      reassembler.dropScope(topic);
      const end = current.live.then((unsubscribe) => unsubscribe()).catch(() => undefined); // best effort: the channel is forgotten here anyway
      leaving.set(topic, end);
      await end;
      if (leaving.get(topic) === end) leaving.delete(topic);
    };
  };

  const publish = async (topic: string, frame: Uint8Array): Promise<void> => {
    assertOpen();
    checkTopic(topic);
    if (!(frame instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'the frame must be a Uint8Array');
    if (frame.length > maxFrameBytes) throw new SealsigError('E_FRAME_TOO_LARGE', `a ${frame.length}-byte frame exceeds ${maxFrameBytes} bytes`);
    const channel = channelFor(prefix, topic, checkChannel);
    const messages = encodeMessages(frame, capacity, newMessageId);
    for (const message of messages) {
      assertOpen();
      try {
        await withTimeout(Promise.resolve().then(() => client.publish(channel, client.binary ? message : encodeText(message))), `a message on ${channel}`);
      } catch (e) {
        if (closed) throw new SealsigError('E_CLOSED', 'transport closed while publishing');
        throw isSealsigError(e, 'E_TRANSPORT') ? e : new SealsigError('E_TRANSPORT', `publishing on ${channel} failed`, { cause: e });
      }
      counters.messagesOut++;
    }
    counters.framesOut++;
  };

  return {
    maxFrameBytes,
    get state(): TransportState {
      return closed ? 'closed' : state.value;
    },
    get stats(): PubSubStats {
      return { ...counters, dropped: { ...dropped }, pendingFrames: reassembler.pendingCount, pendingBytes: reassembler.pendingBytes };
    },
    subscribe,
    publish,
    onStateChange(listener) {
      if (typeof listener !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'the state listener must be a function');
      return state.listen((s) => listener(s)); // a wrapper: one function added twice is heard twice
    },
    onError(listener) {
      if (typeof listener !== 'function') throw new SealsigError('E_INVALID_ARGUMENT', 'the error listener must be a function');
      const own = (error: SealsigError) => listener(error);
      errorListeners.add(own);
      return () => void errorListeners.delete(own);
    },
    async close() {
      if (closed) return;
      closed = true;
      const ending = [...subscriptions.values()].map((s) => withTimeout(s.live.then((unsubscribe) => unsubscribe()), 'an unsubscribe'));
      subscriptions.clear();
      reassembler.close();
      removeClientStateListener?.();
      await Promise.allSettled([...ending, ...leaving.values()]);
      leaving.clear();
      await withTimeout(Promise.resolve().then(() => client.close()), 'closing the client')
        .catch(() => undefined); // closing is best effort; the transport is closed regardless
      state.set('closed');
      state.clear();
      errorListeners.clear();
    },
  };
}
