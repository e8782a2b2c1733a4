/**
 * The pub/sub client contract: what @sealsig/transport-pubsub needs of a PubNub-like service, where a
 * message is published to a named channel and every subscriber of that channel receives it.
 * A binding (src/bindings/) adapts one library's client to it; createPubSubTransport() builds the sealsig
 * Transport (docs/ADAPTERS.md §1) on top, so chunking, base64url and bounds live in one place.
 */
import type { TransportState } from '@sealsig/core';

/** One message as the service carries it: bytes on binary services, text on text-only ones. */
export type PubSubMessage = Uint8Array | string;

/** What the transport needs of a pub/sub service (bindings/ adapt real clients). */
export interface PubSubClient {
  /**
   * Whether the service carries bytes. Text-only services (PubNub) get base64url strings (RFC 4648 §5)
   * and must deliver strings; binary services get and must deliver Uint8Arrays (a Buffer is one).
   */
  readonly binary: boolean;
  /**
   * The largest message the service accepts: bytes on a binary service, characters of (ASCII) text on a
   * text-only one. The transport chunks frames whose encoding would exceed it.
   */
  readonly maxMessageBytes: number;
  /** Publishes one message; resolves once the client library has taken it. */
  publish(channel: string, message: PubSubMessage): Promise<void>;
  /**
   * Subscribes to a channel; resolves once the subscription is live (acked by the service), with a
   * function that ends it. The transport makes at most one subscription per channel at a time.
   */
  subscribe(channel: string, handler: (message: PubSubMessage) => void): Promise<() => Promise<void>>;
  /** Detaches from the library client (and ends it if the binding was told to own it). */
  close(): Promise<void>;
  /** The connection state, when the library exposes one; 'open' is assumed otherwise. */
  readonly state?: TransportState;
  /** Listens to connection state changes, when the library exposes them; returns the remover. */
  onState?(listener: (state: TransportState) => void): () => void;
  /**
   * Checks a full channel name against the service's naming rules; returns a reason when it is not
   * acceptable (MQTT forbids '+' and '#', NATS '*' and '>' and whitespace...), undefined when it is.
   */
  checkChannel?(channel: string): string | undefined;
}
