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
  readonly connected: boolean;
  readonly reconnecting: boolean;
  readonly disconnecting: boolean;
  on(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  publishAsync(topic: string, message: string | Uint8Array, options: { qos: 0 | 1 }): Promise<unknown>;
  subscribeAsync(topic: string | string[], options: { qos: 0 | 1 }): Promise<ReadonlyArray<{ qos: number }>>;
  unsubscribeAsync(topic: string): Promise<unknown>;
  endAsync(): Promise<unknown>;
}

/** The part of an ioredis 5 `Redis` connection that `redisClient` uses. */
export interface RedisLike {
  readonly status: string;
  on(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  publish(channel: string, message: string | Uint8Array): Promise<unknown>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** A subscription of a `NatsConnectionLike`. */
export interface NatsSubscriptionLike {
  unsubscribe(): void;
}

/** The part of a nats 2.x `NatsConnection` that `natsClient` uses. */
export interface NatsConnectionLike {
  readonly info?: { readonly max_payload: number } | undefined;
  isClosed(): boolean;
  status(): AsyncIterable<{ readonly type: string }>;
  closed(): Promise<unknown>;
  flush(): Promise<void>;
  publish(subject: string, payload: Uint8Array | string): void;
  subscribe(subject: string, options: { callback: (error: Error | null, message: { readonly data: Uint8Array }) => void }): NatsSubscriptionLike;
  close(): Promise<void>;
}

/** The listener `pubnubClient` adds to a `PubNubLike`. */
export interface PubNubListenerLike {
  message?: (event: { readonly channel: string; readonly message: unknown }) => void;
  status?: (event: { readonly category: string }) => void;
}

/** The part of a PubNub SDK (v8+) instance that `pubnubClient` uses. */
export interface PubNubLike {
  addListener(listener: PubNubListenerLike): void;
  removeListener(listener: PubNubListenerLike): void;
  publish(parameters: { channel: string; message: string }): Promise<unknown>;
  subscribe(parameters: { channels: string[] }): void;
  unsubscribe(parameters: { channels: string[] }): void;
  reconnect(): unknown;
  destroy(): void;
}
