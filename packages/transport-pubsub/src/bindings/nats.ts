/**
 * PubSubClient over a `nats` 2.x connection (binary payloads). Subjects use '.' to separate tokens; the
 * default prefix 'sealsig.' and a base64url topic make two tokens, with no wildcard. nats.js reconnects
 * by itself and restores its subscriptions. NATS echoes a connection's own messages to its
 * subscriptions unless the connection was made with `noEcho: true`.
 */
import { TransportStateCell, type TransportState } from '@sealsig/core';
import type { PubSubClient } from '../client.js';
import type { NatsConnectionLike, NatsSubscriptionLike } from './clients.js';

/** Options of natsClient(). */
export interface NatsBindingOptions {
  /** The largest message to publish (default: the server's max_payload, at most 1 MiB). */
  maxMessageBytes?: number;
  /** close() the connection on close() (default false: it is the caller's). */
  closeClient?: boolean;
}

/** A PubSubClient over a nats.js connection (topics are subjects). */
export function natsClient(nc: NatsConnectionLike, options: NatsBindingOptions = {}): PubSubClient {
  const subscriptions = new Set<NatsSubscriptionLike>();
  const state = new TransportStateCell(nc.isClosed() ? 'closed' : 'open');
  let detached = false;
  const setState = (next: TransportState): void => {
    if (!detached) state.set(next);
  };
  const status = nc.status();
  void (async () => {
    for await (const s of status) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') setState('reconnecting');
      else if (s.type === 'reconnect') {
        // nats.js resends the SUBs on reconnect; a flush round trip after them means the server has them,
        // so frames published once we report 'open' reach the restored subscriptions.
        nc.flush().then(
          () => setState('open'),
          () => undefined,
        );
      }
    }
  })().catch(() => undefined);
  void nc.closed().then(() => setState('closed'));

  return {
    binary: true,
    maxMessageBytes: options.maxMessageBytes ?? Math.min(nc.info?.max_payload ?? 1024 * 1024, 1024 * 1024),
    get state() {
      return state.value;
    },
    onState: (listener) => state.listen(listener),
    checkChannel(channel) {
      if (/[\s*>]/.test(channel)) return "NATS subjects must not contain whitespace, '*' or '>'";
      if (channel.split('.').some((token) => token.length === 0)) return 'NATS subjects must not have empty tokens';
      return undefined;
    },
    async publish(channel, message) {
      nc.publish(channel, message); // buffered by nats.js (also while reconnecting); throws once closed
    },
    async subscribe(channel, handler) {
      const subscription = nc.subscribe(channel, {
        callback: (error, msg) => {
          if (!error) handler(msg.data);
        },
      });
      subscriptions.add(subscription);
      try {
        await nc.flush(); // a PING/PONG round trip after SUB: the server has the subscription
      } catch (e) {
        subscriptions.delete(subscription);
        subscription.unsubscribe();
        throw e;
      }
      return async () => {
        if (!subscriptions.delete(subscription)) return;
        if (!nc.isClosed()) subscription.unsubscribe();
      };
    },
    async close() {
      detached = true;
      state.clear();
      for (const subscription of subscriptions) if (!nc.isClosed()) subscription.unsubscribe();
      subscriptions.clear();
      (status as { stop?: () => void }).stop?.();
      if (options.closeClient && !nc.isClosed()) await nc.close();
    },
  };
}
