/**
 * The engine contract (PROTOCOL-RELAY.md §3.4, §6): where a relay node keeps each topic's stream and how
 * publications reach the nodes that serve the topic. The relay (relay.ts) speaks the wire protocol and owns
 * connections; an engine owns retention, offsets, epochs and fan-out between nodes. Two engines implement it:
 * the memory engine (one node, the embedded default, memory-engine.ts) and the Redis engine (any number of
 * nodes on one Redis, Redis Streams, redis-engine.ts).
 *
 * A topic's stream is a sequence of publications, each at an offset that only grows. The stream has an epoch:
 * 8 bytes that change whenever the engine may have lost part of the stream (a memory relay restarted, a Redis
 * stream expired or was lost with a Redis crash). A position (epoch, offset) names a point in one stream; a
 * client that reconnects asks for everything after its last position, and the engine says whether it can
 * give exactly that (`recovered`) or the client may have missed frames (a gap).
 *
 * Offsets are two unsigned integers compared in order (ms, then seq): Redis stream ids (`<ms>-<seq>`) for the
 * Redis engine, (0, n) for the memory engine. On the wire they are 16 bytes (u64be ms || u64be seq) that
 * clients store and send back without interpreting them.
 */

/** An offset in a topic's stream (PROTOCOL-RELAY.md §3.4): compared by ms, then seq. Both are safe integers. */
export interface Offset {
  /** Milliseconds (the Redis stream id's time part, or 0). */
  readonly ms: number;
  /** Sequence within the millisecond. */
  readonly seq: number;
}

/** Bytes of an epoch on the wire. */
export const EPOCH_BYTES = 8;
/** Bytes of an offset on the wire. */
export const OFFSET_BYTES = 16;

/** A point in a topic's stream: everything up to and including `offset` of stream epoch `epoch`. */
export interface Position {
  /** EPOCH_BYTES bytes. */
  readonly epoch: Uint8Array;
  /** The offset within that epoch. */
  readonly offset: Offset;
}

/** The offset before every publication of a stream. */
export const START: Offset = { ms: 0, seq: 0 };

/** Negative, zero or positive as a is before, at or after b. */
export function compareOffsets(a: Offset, b: Offset): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

/** One publication of a stream. */
export interface Publication {
  /** Where the publication is in its stream. */
  readonly offset: Offset;
  /** The frame, opaque. The engine may hand the same bytes to several callers: nobody modifies them. */
  readonly frame: Uint8Array;
  /**
   * The publishing connection's id when it published through this node (the relay skips it: no self-echo),
   * 0 when it came from another node or an earlier run.
   */
  readonly from: number;
}

/** What the engine tells the relay. Every callback runs synchronously and must not throw (the relay guards). */
export interface EngineListener {
  /**
   * A new publication on a topic this node subscribed to, in stream order per topic (epoch may differ from the
   * previous publication's: the stream was lost and started again).
   */
  publication(topic: string, epoch: Uint8Array, publication: Publication): void;
  /**
   * The engine can (true) or cannot (false, with a reason for /healthz and the log) store publications. While
   * unavailable, publish() rejects with EngineUnavailable and no publication is delivered.
   */
  availability(available: boolean, reason: string): void;
}

/** publish() could not store the frame now; the client may send it again later (NACK 7, §3.3). */
export class EngineUnavailable extends Error {
  /** Always 'EngineUnavailable'. */
  override readonly name = 'EngineUnavailable';
}

/** A topic's history as history() found it. */
export interface History {
  /** The stream's current epoch. */
  epoch: Uint8Array;
  /**
   * True when `since` named a point of this stream and every publication after it is in `publications`; false
   * when `since` was given but the stream lost or trimmed part of what followed it (the client has a gap), or
   * when no `since` was given.
   */
  recovered: boolean;
  /**
   * With `recovered`, every publication after `since`; otherwise the recent window (publications younger than
   * the engine's replay age), oldest first, so that a late subscriber still receives a recent offer.
   */
  publications: Publication[];
  /**
   * The offset of the stream's last publication; for an empty stream, an offset that every later publication
   * follows (START, or the engine's "now"). A client that received nothing yet resumes from it.
   */
  head: Offset;
}

/** Where a relay keeps topic streams (memory or Redis, PROTOCOL-RELAY.md §3.4 and §6). */
export interface Engine {
  /** 'memory' or 'redis', for logs and /metrics. */
  readonly kind: string;
  /** Whether publish() can store frames now. */
  readonly available: boolean;
  /**
   * Starts the engine. The Redis engine resolves even while Redis is unreachable (it reports availability
   * false and keeps trying); only a configuration error rejects.
   */
  start(listener: EngineListener): Promise<void>;
  /**
   * Appends `frame` to `topic`'s stream; resolves with the stream's epoch and the frame's offset once it is
   * stored (as durable as the engine is). listener.publication() reports it to every node subscribed to the
   * topic, this one included (the memory engine before publish() returns, the Redis engine when the
   * notification arrives). Calls on one node resolve in the order they were made. Rejects with
   * EngineUnavailable when it cannot store the frame.
   */
  publish(topic: string, frame: Uint8Array, from: number): Promise<{
    /** The stream's epoch. */
    epoch: Uint8Array;
    /** The publication's offset in it. */
    offset: Offset;
  }>;
  /**
   * publish() without a promise (optional; the relay's hot path uses it when present): `settled` is called once,
   * with undefined once the frame is stored or with what publish() would reject with, in call order with
   * publish() and store() calls alike.
   */
  store?(topic: string, frame: Uint8Array, from: number, settled: (error: unknown) => void): void;
  /** Asks for listener.publication() calls on `topic`; resolves once every publication stored after it will reach this node. */
  subscribe(topic: string): Promise<void>;
  /** Ends subscribe(); idempotent. */
  unsubscribe(topic: string): void;
  /** The topic's history after `since`, or its recent window (see History). Rejects with EngineUnavailable. */
  history(topic: string, since: Position | undefined): Promise<History>;
  /** Topics with a stream held in this engine (memory engine) or subscribed on this node (Redis engine), for /metrics. */
  readonly topics: number;
  /** Bytes of frames held in memory by this engine (0 for the Redis engine). */
  readonly bytes: number;
  /** Releases everything. Idempotent. */
  close(): Promise<void>;
}
