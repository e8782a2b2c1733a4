/**
 * What each binding uses of its service's client, as structural types. The real clients (mqtt.js 5's MqttClient,
 * ioredis 5's Redis, nats 2.x's NatsConnection, the PubNub SDK) fit them. The published declarations name no
 * type of those optional peers, so a consumer type-checks (without skipLibCheck) with only the client it uses
 * installed, or none.
 */

// `any[]` listener arguments: each client types its events its own way; the bindings narrow them.
type Listener = (...args: any[]) => void;

/** The part of an mqtt.js 5 `MqttClient` that `mqttClient` uses. */
export interface MqttClientLike {
  /** Connected to the broker now. */
  readonly connected: boolean;
  /** Reconnecting after a lost connection. */
  readonly reconnecting: boolean;
  /** Closing. */
  readonly disconnecting: boolean;
  /** Adds an event listener ('connect', 'close', 'message', ...). */
  on(event: string, listener: Listener): unknown;
  /** Removes an event listener. */
  removeListener(event: string, listener: Listener): unknown;
  /** Publishes one message. */
  publishAsync(topic: string, message: string | Uint8Array, options: MqttQos): Promise<unknown>;
  /** Subscribes; resolves with the granted QoS per topic. */
  subscribeAsync(topic: string | string[], options: MqttQos): Promise<ReadonlyArray<MqttGrant>>;
  /** Unsubscribes. */
  unsubscribeAsync(topic: string): Promise<unknown>;
  /** Closes the connection. */
  endAsync(): Promise<unknown>;
}

/** What the broker granted one topic of a SUBSCRIBE. */
export interface MqttGrant {
  /** Granted QoS (128: refused). */
  qos: number;
}

/** MQTT publish and subscribe options the binding passes. */
export interface MqttQos {
  /** Quality of service: 0 (at most once) or 1 (at least once). */
  qos: 0 | 1;
}

/** The part of an ioredis 5 `Redis` connection that `redisClient` uses. */
export interface RedisLike {
  /** ioredis' connection status ('ready', 'reconnecting', 'end', ...). */
  readonly status: string;
  /** Adds an event listener ('ready', 'close', 'messageBuffer', ...). */
  on(event: string, listener: Listener): unknown;
  /** Removes an event listener. */
  removeListener(event: string, listener: Listener): unknown;
  /** Adds a one-time event listener. */
  once(event: string, listener: Listener): unknown;
  /** PUBLISH on a channel. */
  publish(channel: string, message: string | Uint8Array): Promise<unknown>;
  /** SUBSCRIBE to channels. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** UNSUBSCRIBE from channels. */
  unsubscribe(...channels: string[]): Promise<unknown>;
  /** Closes gracefully (QUIT). */
  quit(): Promise<unknown>;
  /** Closes at once. */
  disconnect(): void;
}

/** A subscription of a `NatsConnectionLike`. */
export interface NatsSubscriptionLike {
  /** Ends the subscription. */
  unsubscribe(): void;
}

/** The server's INFO the binding reads. */
export interface NatsServerInfo {
  /** Largest payload the server accepts, in bytes. */
  readonly max_payload: number;
}

/** A status event of a NATS connection. */
export interface NatsStatusLike {
  /** 'disconnect', 'reconnect', ... */
  readonly type: string;
}

/** A message delivered to a NATS subscription. */
export interface NatsMessageLike {
  /** The payload. */
  readonly data: Uint8Array;
}

/** The part of a nats 2.x `NatsConnection` that `natsClient` uses. */
export interface NatsConnectionLike {
  /** The server's INFO, once connected. */
  readonly info?: NatsServerInfo | undefined;
  /** Closed for good. */
  isClosed(): boolean;
  /** The connection's status events. */
  status(): AsyncIterable<NatsStatusLike>;
  /** Resolves when the connection closes. */
  closed(): Promise<unknown>;
  /** Round trip to the server. */
  flush(): Promise<void>;
  /** Publishes on a subject. */
  publish(subject: string, payload: Uint8Array | string): void;
  /** Subscribes to a subject with a callback. */
  subscribe(subject: string, options: NatsSubscribeOptions): NatsSubscriptionLike;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** The subscription options the binding passes. */
export interface NatsSubscribeOptions {
  /** Called with each message (or an error). */
  callback: (error: Error | null, message: NatsMessageLike) => void;
}

/** The listener `pubnubClient` adds to a `PubNubLike`. */
export interface PubNubListenerLike {
  /** A message on a subscribed channel. */
  message?: (event: PubNubMessageEvent) => void;
  /** A status change of the connection. */
  status?: (event: PubNubStatusEvent) => void;
}

/** A PubNub message event. */
export interface PubNubMessageEvent {
  /** The channel it came on. */
  readonly channel: string;
  /** The message as published. */
  readonly message: unknown;
}

/** A PubNub status event. */
export interface PubNubStatusEvent {
  /** 'PNConnectedCategory', 'PNNetworkDownCategory', ... */
  readonly category: string;
}

/** The part of a PubNub SDK (v8+) instance that `pubnubClient` uses. */
export interface PubNubLike {
  /** Adds a listener. */
  addListener(listener: PubNubListenerLike): void;
  /** Removes a listener. */
  removeListener(listener: PubNubListenerLike): void;
  /** Publishes a message on a channel. */
  publish(parameters: PubNubPublishParameters): Promise<unknown>;
  /** Subscribes to channels. */
  subscribe(parameters: PubNubChannels): void;
  /** Unsubscribes from channels. */
  unsubscribe(parameters: PubNubChannels): void;
  /** Reconnects after a network change. */
  reconnect(): unknown;
  /** Ends the instance. */
  destroy(): void;
}

/** What the binding publishes. */
export interface PubNubPublishParameters {
  /** The channel. */
  channel: string;
  /** The frame, as text. */
  message: string;
}

/** Channels to subscribe to or leave. */
export interface PubNubChannels {
  /** The channels. */
  channels: string[];
}
