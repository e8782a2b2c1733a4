/**
 * PubSubClient over the PubNub JavaScript SDK (v8+, event engine). PubNub carries JSON: frames travel as
 * base64url strings, so this binding is text-only. A publish is an HTTP GET whose URL holds the escaped
 * JSON message; PubNub limits that, with the channel name, to 32 KiB, so maxMessageBytes defaults to
 * 32 KiB minus a margin for the quotes and the channel (frames above it are chunked by the transport).
 * PubNub delivers a publisher's own messages to its subscriptions.
 *
 * Subscribing is a listener (added once) plus pubnub.subscribe({ channels }); the subscription is live
 * once the SDK reports PNConnectedCategory or PNSubscriptionChangedCategory naming the channel. After an
 * unexpected disconnect (the SDK gave up retrying) the binding calls pubnub.reconnect() after a delay.
 */
import { TransportStateCell } from '@sealsig/core';
import type { PubSubClient, PubSubMessage } from '../client.js';
import type { PubNubLike, PubNubListenerLike } from './clients.js';

/** Options of pubnubClient(). */
export interface PubNubBindingOptions {
  /** The longest message (characters of base64url) to publish (default 32 KiB − 1 KiB). */
  maxMessageBytes?: number;
  /** How long subscribe() waits for the SDK to confirm the subscription (default 10 000 ms). */
  subscribeTimeoutMs?: number;
  /** Delay before pubnub.reconnect() after an unexpected disconnect (default 1000 ms). */
  reconnectDelayMs?: number;
  /** destroy() the PubNub instance on close() (default false: it is the caller's). */
  closeClient?: boolean;
}

const PUBNUB_CHANNEL_MAX = 92;

/** A PubSubClient over the PubNub SDK (a text-only service: frames travel as base64url). */
export function pubnubClient(pubnub: PubNubLike, options: PubNubBindingOptions = {}): PubSubClient {
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 10_000;
  const reconnectDelayMs = options.reconnectDelayMs ?? 1000;
  const handlers = new Map<string, (message: PubSubMessage) => void>();
  const waiting = new Map<string, Set<(error?: Error) => void>>(); // channel -> subscribe() calls awaiting confirmation
  const state = new TransportStateCell('open'); // no connection until something is subscribed
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const settle = (channels: readonly string[] | undefined, error?: Error): void => {
    for (const channel of channels ?? []) {
      const set = waiting.get(channel);
      if (!set) continue;
      waiting.delete(channel);
      for (const done of set) done(error);
    }
  };
  const scheduleReconnect = (): void => {
    if (closed || reconnectTimer || handlers.size === 0) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!closed && handlers.size > 0) pubnub.reconnect();
    }, reconnectDelayMs);
    (reconnectTimer as { unref?: () => void }).unref?.();
  };

  const listener: PubNubListenerLike = {
    message: (event) => {
      handlers.get(event.channel)?.(event.message as PubSubMessage);
    },
    status: (event) => {
      switch (event.category) {
        case 'PNConnectedCategory':
        case 'PNSubscriptionChangedCategory':
        case 'PNReconnectedCategory':
          state.set('open');
          settle((event as { affectedChannels?: string[] }).affectedChannels);
          break;
        case 'PNDisconnectedUnexpectedlyCategory':
        case 'PNConnectionErrorCategory':
        case 'PNNetworkDownCategory':
          state.set('reconnecting');
          scheduleReconnect();
          break;
        default:
          break;
      }
    },
  };
  pubnub.addListener(listener);

  return {
    binary: false,
    maxMessageBytes: options.maxMessageBytes ?? 32 * 1024 - 1024,
    get state() {
      return state.value;
    },
    onState: (listener) => state.listen(listener),
    checkChannel(channel) {
      if (channel.length > PUBNUB_CHANNEL_MAX) return `PubNub channel names are at most ${PUBNUB_CHANNEL_MAX} characters`;
      if (/[,:*/\\\u0000-\u001f\u007f]/.test(channel)) return 'PubNub channel names must not contain , : * / \\ or control characters';
      return undefined;
    },
    async publish(channel, message) {
      if (typeof message !== 'string') throw new TypeError('PubNub carries text: the transport sends base64url');
      await pubnub.publish({ channel, message });
    },
    async subscribe(channel, handler) {
      handlers.set(channel, handler);
      const confirmed = new Promise<void>((resolve, reject) => {
        let set = waiting.get(channel);
        if (!set) waiting.set(channel, (set = new Set()));
        const timer = setTimeout(() => {
          set.delete(done);
          reject(new Error(`PubNub did not confirm the subscription to ${channel} within ${subscribeTimeoutMs} ms`));
        }, subscribeTimeoutMs);
        const done = (error?: Error): void => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        set.add(done);
      });
      pubnub.subscribe({ channels: [channel] });
      try {
        await confirmed;
      } catch (e) {
        if (handlers.get(channel) === handler) {
          handlers.delete(channel);
          pubnub.unsubscribe({ channels: [channel] });
        }
        throw e;
      }
      return async () => {
        if (handlers.get(channel) !== handler) return;
        handlers.delete(channel);
        pubnub.unsubscribe({ channels: [channel] });
      };
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      for (const [channel, set] of waiting) for (const done of set) done(new Error(`closed while subscribing to ${channel}`));
      waiting.clear();
      if (handlers.size > 0) pubnub.unsubscribe({ channels: [...handlers.keys()] });
      handlers.clear();
      state.clear();
      pubnub.removeListener(listener);
      if (options.closeClient) pubnub.destroy();
    },
  };
}
