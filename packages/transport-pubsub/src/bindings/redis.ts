/**
 * PubSubClient over ioredis 5 (binary: Buffers both ways). Redis needs two connections: one in subscriber
 * mode cannot publish. ioredis reconnects by itself and, with its default `autoResubscribe: true`,
 * restores the subscriptions. Redis delivers a publisher's messages to every subscriber, its own included.
 */
import { TransportStateCell, type TransportState } from '@sealsig/core';
import type { PubSubClient, PubSubMessage } from '../client.js';
import type { RedisLike } from './clients.js';

/** Options of redisClient(). */
export interface RedisBindingOptions {
  /** The largest message to publish; larger frames are chunked (default 1 MiB; Redis allows 512 MB). */
  maxMessageBytes?: number;
  /** quit() both connections on close() (default false: they are the caller's). */
  closeClient?: boolean;
}

/** A PubSubClient over two ioredis connections (Redis pub/sub needs a dedicated subscriber connection). */
export function redisClient(connections: { publisher: RedisLike; subscriber: RedisLike }, options: RedisBindingOptions = {}): PubSubClient {
  const { publisher, subscriber } = connections;
  if (publisher === subscriber) throw new TypeError('redisClient needs two connections: a subscribed connection cannot publish');
  const handlers = new Map<string, (message: PubSubMessage) => void>();
  let restoring = false; // after a reconnect, until our channels are confirmed subscribed again
  const stateOf = (): TransportState => {
    const statuses = [publisher.status, subscriber.status];
    if (statuses.every((s) => s === 'ready')) return restoring ? 'reconnecting' : 'open';
    if (statuses.some((s) => s === 'end')) return 'closed';
    if (statuses.some((s) => s === 'reconnecting' || s === 'close')) return 'reconnecting';
    return 'connecting';
  };
  const state = new TransportStateCell(stateOf());
  const update = (): void => state.set(stateOf());
  // ioredis emits 'ready' before it resends the SUBSCRIBEs of a reconnected connection. Subscribing again
  // (idempotent in Redis) and reporting 'open' on its reply means frames published after 'open' arrive.
  const onSubscriberReady = (): void => {
    if (handlers.size === 0) return;
    restoring = true;
    update();
    subscriber.subscribe(...handlers.keys()).then(
      () => ((restoring = false), update()),
      () => ((restoring = false), update()),
    );
  };
  subscriber.on('ready', onSubscriberReady);
  const onMessage = (channel: Buffer, message: Buffer): void => handlers.get(channel.toString('utf8'))?.(message);
  const statusEvents = ['ready', 'connect', 'close', 'reconnecting', 'end'] as const;
  const onError = (): void => undefined; // ioredis reports connection errors here and retries by itself
  for (const connection of [publisher, subscriber]) {
    for (const name of statusEvents) connection.on(name, update);
    connection.on('error', onError);
  }
  subscriber.on('messageBuffer', onMessage);

  return {
    binary: true,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    get state() {
      return state.value;
    },
    onState: (listener) => state.listen(listener),
    async publish(channel, message) {
      const payload = typeof message === 'string' ? message : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      await publisher.publish(channel, payload);
    },
    async subscribe(channel, handler) {
      handlers.set(channel, handler);
      try {
        await subscriber.subscribe(channel); // resolves on the server's subscribe reply: live
      } catch (e) {
        if (handlers.get(channel) === handler) handlers.delete(channel);
        throw e;
      }
      return async () => {
        if (handlers.get(channel) !== handler) return;
        handlers.delete(channel);
        await subscriber.unsubscribe(channel);
      };
    },
    async close() {
      subscriber.removeListener('messageBuffer', onMessage);
      subscriber.removeListener('ready', onSubscriberReady);
      state.clear();
      handlers.clear();
      if (options.closeClient) {
        const ended = (c: RedisLike) => (c.status === 'end' ? Promise.resolve() : new Promise<void>((resolve) => c.once('end', () => resolve())));
        const both = Promise.all([ended(publisher), ended(subscriber)]);
        await Promise.allSettled([publisher.quit(), subscriber.quit()]);
        publisher.disconnect();
        subscriber.disconnect();
        await both; // sockets closed: close() really released them
      }
      for (const connection of [publisher, subscriber]) {
        for (const name of statusEvents) connection.removeListener(name, update);
        connection.removeListener('error', onError);
      }
    },
  };
}
