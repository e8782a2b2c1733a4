/**
 * PubSubClient over an mqtt.js 5 client (MQTT 3.1.1 or 5; binary payloads). mqtt.js reconnects by itself
 * and, with its default `resubscribe: true`, restores the subscriptions after a reconnect. MQTT 3.1.1
 * brokers echo a publisher's own messages to its subscriptions (MQTT 5's no-local is not used).
 */
import { TransportStateCell, type TransportState } from '@sealsig/core';
import type { PubSubClient, PubSubMessage } from '../client.js';
import type { MqttClientLike } from './clients.js';

const utf8Length = new TextEncoder();

/** Options of mqttClient(). */
export interface MqttBindingOptions {
  /** QoS of publishes and subscriptions (default 0: sealsig tolerates loss and duplicates). */
  qos?: 0 | 1;
  /** The largest MQTT payload to send; larger frames are chunked (default 128 KiB; brokers allow far more). */
  maxMessageBytes?: number;
  /** End the mqtt.js client on close() (default false: the client is the caller's). */
  closeClient?: boolean;
}

/** A PubSubClient over an mqtt.js client (topics are MQTT topics). */
export function mqttClient(client: MqttClientLike, options: MqttBindingOptions = {}): PubSubClient {
  const qos = options.qos ?? 0;
  const handlers = new Map<string, (message: PubSubMessage) => void>();
  const stateOf = (): TransportState => (client.connected ? 'open' : client.reconnecting ? 'reconnecting' : 'connecting');
  const state = new TransportStateCell(stateOf());
  const events = {
    message: (topic: string, payload: Buffer) => handlers.get(topic)?.(payload),
    // mqtt.js flushes its queue and resubscribes after 'connect', so 'open' could come before the broker
    // has the subscriptions again: subscribe again (idempotent in MQTT) and report 'open' on the SUBACK.
    connect: () => {
      if (handlers.size === 0) return state.set('open');
      client.subscribeAsync([...handlers.keys()], { qos }).then(
        () => state.set('open'),
        () => state.set('open'),
      );
    },
    reconnect: () => state.set('reconnecting'),
    offline: () => state.set('reconnecting'),
    close: () => state.set(client.disconnecting ? 'closed' : 'reconnecting'),
    end: () => state.set('closed'),
    error: () => undefined, // mqtt.js emits connection errors here; an unheard 'error' would crash the process
  };
  for (const [name, fn] of Object.entries(events)) client.on(name, fn);

  return {
    binary: true,
    maxMessageBytes: options.maxMessageBytes ?? 128 * 1024,
    get state() {
      return state.value;
    },
    onState: (listener) => state.listen(listener),
    checkChannel(channel) {
      if (/[+#\u0000]/.test(channel)) return "MQTT topics must not contain '+', '#' or NUL";
      if (utf8Length.encode(channel).length > 65535) return 'MQTT topics are at most 65535 bytes';
      return undefined;
    },
    async publish(channel, message) {
      // A Buffer view (no copy) in Node; in browsers, where mqtt.js bundles its own Buffer, the bytes as they are.
      const payload =
        typeof message === 'string' || typeof Buffer === 'undefined' ? (message as string | Buffer) : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      await client.publishAsync(channel, payload, { qos });
    },
    async subscribe(channel, handler) {
      handlers.set(channel, handler);
      try {
        const granted = await client.subscribeAsync(channel, { qos });
        if (granted.some((g) => g.qos === 128)) throw new Error(`the broker refused the subscription to ${channel}`);
      } catch (e) {
        if (handlers.get(channel) === handler) handlers.delete(channel);
        throw e;
      }
      return async () => {
        if (handlers.get(channel) !== handler) return;
        handlers.delete(channel);
        await client.unsubscribeAsync(channel); // offline, mqtt.js queues it (and drops it from its resubscribe list)
      };
    },
    async close() {
      state.clear();
      handlers.clear();
      if (options.closeClient) await client.endAsync();
      for (const [name, fn] of Object.entries(events)) client.removeListener(name, fn);
    },
  };
}
