/**
 * The transport contract (docs/ADAPTERS.md). An adapter moves opaque frames on topics; it never parses
 * them. sealsig assumes nothing of it: frames may be dropped, duplicated, reordered, delayed, replayed,
 * modified or injected, and the adapter may or may not echo a publisher's own frames back to it.
 */
export type TransportState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Receives the frames of a subscribed topic. */
export type FrameHandler = (frame: Uint8Array) => void;
/** Ends a subscription; resolves once the transport has stopped it. */
export type Unsubscribe = () => Promise<void>;

/** What sealsig needs of a transport (docs/ADAPTERS.md): publish and subscribe opaque frames on topics. */
export interface Transport {
  /** The largest frame, in bytes, that publish() accepts. */
  readonly maxFrameBytes: number;
  /** Current connection state; adapters without a connection report 'open' until closed. */
  readonly state: TransportState;
  /** Delivers every frame published on `topic` (by anyone) to `onFrame` until the returned function runs. */
  subscribe(topic: string, onFrame: FrameHandler): Promise<Unsubscribe>;
  /** Publishes one frame on `topic`. Resolves once the adapter has taken it (not once it is delivered). */
  publish(topic: string, frame: Uint8Array): Promise<void>;
  /** Listens to connection state changes; returns a function that removes the listener. */
  onStateChange(listener: (state: TransportState) => void): () => void;
  /**
   * Optional: listens to gap signals. An adapter calls the listener with a topic when frames published on it
   * may not have reached this subscriber (the relay restarted or lost its history, a stream was trimmed).
   * Core then announces itself again and restarts its handshakes in flight (docs/PROTOCOL.md §8.6).
   * Returns a function that removes the listener.
   */
  onGap?(listener: (topic: string) => void): () => void;
  /**
   * Optional: pacing (docs/ADAPTERS.md §1). Present on an adapter that keeps its own publishes under a rate
   * its service enforces, holding back what publish() took meanwhile: a caller with many frames to send waits
   * for drained() instead of filling the adapter's bounded queue. Absent: publish() sends at once.
   */
  readonly pacing?: TransportPacing;
  /** Releases every resource: subscriptions, sockets, timers. Idempotent. */
  close(): Promise<void>;
}

/**
 * The pacing capability (docs/ADAPTERS.md §1): what an adapter that paces its publishes tells its callers. The
 * adapter alone knows its service's limit; it sends under it whatever its callers do, so pacing never depends
 * on a caller's timers. Callers only learn when to hand over more.
 */
export interface TransportPacing {
  /** Frames publish() took and has not sent yet (held back for the service's rate, or while reconnecting). */
  readonly backlog: number;
  /** Resolves once backlog is 0 (at once if it is); rejects with E_CLOSED if the transport closes first. */
  drained(): Promise<void>;
}
