import { SealsigError } from '@sealsig/core';
import type { WebSocketConstructor } from './socket.js';
import type { RateLimit } from './relay-budget.js';

/** What the transport reports besides state changes: every problem is a typed event, never a throw. */
export type TransportEventType =
  /** The relay sent ERROR (relayCode and, when about a topic, topic are set). */
  | 'relay-error'
  /** A relay message failed strict decoding (size, opcode, topic charset, text message) and was dropped. */
  | 'malformed-message'
  /** A connection attempt failed or an open connection was lost; a reconnect follows. */
  | 'connection-lost'
  /** The relay rejected the admission token (close code 4001) and no new token came: the transport closed. */
  | 'token-rejected'
  /** The relay refused this page's origin (close code 1008): the transport closed. */
  | 'origin-rejected'
  /** A frame handler or state listener threw; the exception is in error.cause. */
  | 'listener-error'
  /** The relay could not resume a subscription from its position: frames on `topic` may have been missed (onGap listeners are told too). */
  | 'gap';

/** A problem or state change of the transport, for logs (WebSocketTransportOptions.onError). */
export interface TransportEvent {
  /** What happened. */
  type: TransportEventType;
  /** The same problem as a SealsigError with a stable code. */
  error: SealsigError;
  /** The relay URL of the connection concerned (without the token). */
  url: string;
  /** The topic concerned, if any. */
  topic?: string;
  /** ERROR or NACK code of the relay (1 bad topic, 2 rate limited, 3 too many topics, 4 frame too large, 5 not allowed, 6 malformed, 7 unavailable). */
  relayCode?: number;
  /** WebSocket close code, for connection-lost / token-rejected / origin-rejected. */
  closeCode?: number;
}

/** An admission token for the relay, or a function that returns one for each connection (called on every reconnect). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

/** Options of createWebSocketTransport(). */
export interface WebSocketTransportOptions {
  /** Relay URLs (ws: or wss:), tried in order and in rotation: each reconnect goes to the next one. */
  urls: string[];
  /** WebSocket constructor. Default: globalThis.WebSocket, else the `ws` package (dynamic import). */
  WebSocket?: WebSocketConstructor;
  /**
   * Admission token, sent as the `token` query parameter. A function is called once per connection
   * attempt, and once more when the relay rejects a token (close 4001): a different token retries at once,
   * the same one (or none) closes the transport.
   */
  token?: TokenSource;
  /** Largest frame publish() accepts and a delivery may carry (default 64 KiB). */
  maxFrameBytes?: number;
  /** First reconnect delay; doubles per failed attempt, with jitter (default 250 ms). */
  minReconnectDelayMs?: number;
  /** Reconnect delay ceiling (default 10 s). */
  maxReconnectDelayMs?: number;
  /** A connection attempt (or restoring the subscriptions after it) taking longer than this is abandoned (default 10 s). */
  connectTimeoutMs?: number;
  /** Frames held until the relay acknowledges them (queued while disconnected, or sent and not yet acknowledged), at most; beyond it publish() rejects with E_QUEUE_FULL (default 256). */
  maxQueuedFrames?: number;
  /** Bytes of those frames, at most (default 1 MiB). */
  maxQueuedBytes?: number;
  /**
   * A cap on the PUBLISH rate (PROTOCOL-RELAY.md §4). By default the transport keeps to the limit the relay
   * announces on each connection (LIMITS, §3.5), and to the relay's default (100 frames/s, burst 200) with a
   * relay too old to announce one. Set this to send slower than the relay allows (each field is the lower of
   * the two), or to state the limit of an older relay configured below its default. The transport never sends
   * faster: what the relay would refuse waits in the queue (the `pacing` capability tells callers).
   */
  publishLimit?: {
    /** PUBLISHes the relay's bucket refills per second. */
    perSecond: number;
    /** The bucket's size: PUBLISHes sent at once from idle. */
    burst: number;
  };
  /** Listener for typed events (relay errors, malformed messages, lost connections...). */
  onError?: (event: TransportEvent) => void;
}

export interface ResolvedOptions {
  urls: string[];
  WebSocket: WebSocketConstructor | undefined;
  token: TokenSource | undefined;
  maxFrameBytes: number;
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  connectTimeoutMs: number;
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  /** The user's cap, or undefined (the relay's announced limit alone). */
  publishLimit: RateLimit | undefined;
}

export const invalid = (message: string) => new SealsigError('E_INVALID_ARGUMENT', message);

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`${name} must be a non-negative number`);
  return value;
}

function publishLimit(value: unknown): RateLimit | undefined {
  if (value === undefined) return undefined;
  const v = value as { perSecond?: unknown; burst?: unknown };
  const finite = (n: unknown, min: number) => typeof n === 'number' && Number.isFinite(n) && n >= min;
  if (typeof value !== 'object' || value === null || !finite(v.perSecond, Number.MIN_VALUE) || !finite(v.burst, 1)) {
    throw invalid('publishLimit needs a finite perSecond > 0 and burst >= 1');
  }
  return { perSecond: v.perSecond as number, burst: v.burst as number };
}

/** Validates the options (throws E_INVALID_ARGUMENT) and fills in the defaults. */
export function resolveOptions(options: WebSocketTransportOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { urls } = options;
  if (!Array.isArray(urls) || urls.length === 0) throw invalid('urls must be a non-empty array of ws: or wss: URLs');
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`not a URL: ${String(url)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw invalid(`not a ws: or wss: URL: ${url}`);
  }
  if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') throw invalid('WebSocket must be a constructor');
  if (options.token !== undefined && typeof options.token !== 'string' && typeof options.token !== 'function') {
    throw invalid('token must be a string or a function');
  }
  const resolved: ResolvedOptions = {
    urls: [...urls],
    WebSocket: options.WebSocket,
    token: options.token,
    maxFrameBytes: positive('maxFrameBytes', options.maxFrameBytes, 64 * 1024),
    minReconnectDelayMs: positive('minReconnectDelayMs', options.minReconnectDelayMs, 250),
    maxReconnectDelayMs: positive('maxReconnectDelayMs', options.maxReconnectDelayMs, 10_000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    maxQueuedFrames: positive('maxQueuedFrames', options.maxQueuedFrames, 256),
    maxQueuedBytes: positive('maxQueuedBytes', options.maxQueuedBytes, 1024 * 1024),
    publishLimit: publishLimit(options.publishLimit),
  };
  if (!Number.isInteger(resolved.maxFrameBytes) || resolved.maxFrameBytes < 1) throw invalid('maxFrameBytes must be a positive integer');
  if (resolved.maxReconnectDelayMs < resolved.minReconnectDelayMs) throw invalid('maxReconnectDelayMs is below minReconnectDelayMs');
  return resolved;
}
