/**
 * @sealsig/transport-pubsub: a sealsig Transport over PubNub-like pub/sub services (publish to a channel,
 * subscribe with a handler), with ready bindings for mqtt.js, ioredis, nats and the PubNub SDK.
 * The libraries are optional peer dependencies: bindings take the caller's client instance.
 *
 * @module @sealsig/transport-pubsub
 */
export type { PubSubClient, PubSubMessage } from './client.js';
export { createPubSubTransport } from './transport.js';
export type { PubSubStats, PubSubTransport, PubSubTransportOptions } from './transport.js';
export { DEFAULT_REASSEMBLY_LIMITS, Reassembler } from './reassembly.js';
export type { AddResult, ReassemblyLimits } from './reassembly.js';
export { CHUNK_HEADER_BYTES, WHOLE_HEADER_BYTES, decodeMessage, encodeMessages } from './wire.js';
export type { Chunk, Decoded, WireLimits } from './wire.js';
export { decodeText, encodeText } from './text.js';
export { MAX_TOPIC_LENGTH } from './channel.js';
export type {
  MqttClientLike,
  MqttGrant,
  MqttQos,
  NatsConnectionLike,
  NatsMessageLike,
  NatsServerInfo,
  NatsStatusLike,
  NatsSubscribeOptions,
  NatsSubscriptionLike,
  PubNubChannels,
  PubNubLike,
  PubNubListenerLike,
  PubNubMessageEvent,
  PubNubPublishParameters,
  PubNubStatusEvent,
  RedisLike,
} from './bindings/clients.js';
export { mqttClient } from './bindings/mqtt.js';
export type { MqttBindingOptions } from './bindings/mqtt.js';
export { redisClient } from './bindings/redis.js';
export type { RedisBindingOptions } from './bindings/redis.js';
export { natsClient } from './bindings/nats.js';
export type { NatsBindingOptions } from './bindings/nats.js';
export { pubnubClient } from './bindings/pubnub.js';
export type { PubNubBindingOptions } from './bindings/pubnub.js';
