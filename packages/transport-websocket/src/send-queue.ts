import { SealsigError } from '@sealsig/core';

/**
 * Every frame publish() accepted that the relay has not acknowledged yet (PROTOCOL-RELAY.md §3.2): those
 * waiting to be sent (while the socket is down or the relay asked to wait) and those sent on the current
 * socket without an ACK. Bounded in count and bytes together, so a long outage cannot exhaust memory: when
 * a frame would exceed either bound, add() throws E_QUEUE_FULL and publish() rejects (back-pressure: retry
 * later). Frames sent but not acknowledged go back to the front when the socket is lost, and are sent again
 * on the next one: a frame the relay stored but whose ACK was lost then reaches subscribers twice, and core
 * drops the copy (docs/PROTOCOL.md §2, exactly-once).
 */
export interface QueuedFrame {
  topic: string;
  frame: Uint8Array;
  /**
   * Publish order (assigned by push(), or by sent() for a frame sent at once). A frame put back (a retryable
   * NACK, a lost socket) goes back to its place by this number, so frames are sent again in the order
   * publish() accepted them: several NACKs in a row (e.g. Redis down for a moment) used to put each refused
   * frame in front of the previous one and resend them reversed, and unacknowledged frames went in front of
   * earlier NACKed ones.
   */
  order: number;
}

interface InFlight extends QueuedFrame {
  seq: number;
}

export class SendQueue {
  private waiting: QueuedFrame[] = [];
  private inflight: InFlight[] = [];
  private byteCount = 0;
  /** Bytes of the frames sent and not acknowledged. */
  private inflightBytes = 0;
  private nextOrder = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {}

  /** Frames waiting to be sent. */
  get length(): number {
    return this.waiting.length;
  }

  /** The size of the oldest waiting frame (undefined if none waits). */
  get nextSize(): number | undefined {
    return this.waiting[0]?.frame.length;
  }

  /** Frames sent and not acknowledged. */
  get unacknowledged(): number {
    return this.inflight.length;
  }

  /** Bytes of frames held (waiting and unacknowledged). */
  get bytes(): number {
    return this.byteCount;
  }

  /**
   * Whether a frame of `size` bytes may be sent now: the frames in flight hold at most half the byte bound
   * with it (or none are in flight). Frames sent and not acknowledged count against the bound until their
   * ACK; a paced caller (docs/ADAPTERS.md §1) that hands over a frame whenever nothing waits would otherwise
   * fill the queue with them (200 frames of 9.5 KB in one burst of the relay's bucket: 1.9 MB of a 1 MiB
   * bound, E_QUEUE_FULL). With half the bound in flight at most, what waits always has the other half.
   */
  mayFly(size: number): boolean {
    return this.inflight.length === 0 || this.inflightBytes + size <= this.maxBytes / 2;
  }

  /** Throws E_QUEUE_FULL unless one more frame of `size` bytes fits. */
  reserve(size: number): void {
    const frames = this.waiting.length + this.inflight.length;
    if (frames + 1 > this.maxFrames) {
      throw new SealsigError('E_QUEUE_FULL', `send queue full: ${frames} frames not yet acknowledged by the relay; retry later`);
    }
    if (this.byteCount + size > this.maxBytes) {
      throw new SealsigError('E_QUEUE_FULL', `send queue full: ${this.byteCount} of ${this.maxBytes} bytes not yet acknowledged by the relay; retry later`);
    }
  }

  /**
   * Queues a copy of `frame` to be sent (the caller may reuse its buffer once publish() resolved); `owned`:
   * `frame` is already a copy no one else changes, kept as it is.
   */
  push(topic: string, frame: Uint8Array, owned = false): void {
    this.reserve(frame.length);
    this.waiting.push({ topic, frame: owned ? frame : frame.slice(), order: this.nextOrder++ });
    this.byteCount += frame.length;
  }

  /** Removes and returns the oldest waiting frame. */
  shift(): QueuedFrame | undefined {
    const item = this.waiting.shift();
    if (item) this.byteCount -= item.frame.length;
    return item;
  }

  /** Puts a frame back among the waiting ones, at its place in publish order (usually at the head). */
  putBack(item: QueuedFrame): void {
    let i = 0;
    while (i < this.waiting.length && this.waiting[i]!.order < item.order) i++;
    this.waiting.splice(i, 0, item);
    this.byteCount += item.frame.length;
  }

  /**
   * A frame went out as PUBLISH `seq` (reserve() was checked). `frame` must not change. `order`: the frame's
   * publish order when it came from the waiting ones (shift()); a new number for a frame sent at once.
   */
  sent(seq: number, topic: string, frame: Uint8Array, order = this.nextOrder++): void {
    this.inflight.push({ seq, topic, frame, order });
    this.byteCount += frame.length;
    this.inflightBytes += frame.length;
  }

  /** ACK: every PUBLISH up to `seq` is settled. */
  acknowledge(seq: number): void {
    let n = 0;
    for (; n < this.inflight.length && this.inflight[n]!.seq <= seq; n++) this.settle(this.inflight[n]!);
    if (n > 0) this.inflight.splice(0, n);
  }

  /** NACK: PUBLISH `seq` was not stored; returns it (no longer held), or undefined if unknown. */
  refused(seq: number): QueuedFrame | undefined {
    const i = this.inflight.findIndex((f) => f.seq === seq);
    if (i < 0) return undefined;
    const [f] = this.inflight.splice(i, 1);
    this.settle(f!);
    return { topic: f!.topic, frame: f!.frame, order: f!.order };
  }

  /** The socket is gone: what it did not acknowledge goes back among the waiting frames, in publish order. */
  requeueUnacknowledged(): void {
    if (this.inflight.length === 0) return;
    // NACKed frames may wait in front, older than the in-flight ones: back into publish order (reconnects only).
    const back = this.inflight.map(({ topic, frame, order }) => ({ topic, frame, order }));
    this.waiting = [...back, ...this.waiting].sort((a, b) => a.order - b.order);
    this.inflight = [];
    this.inflightBytes = 0;
  }

  clear(): void {
    this.waiting = [];
    this.inflight = [];
    this.byteCount = 0;
    this.inflightBytes = 0;
  }

  /** A frame in flight is no longer held. */
  private settle(f: InFlight): void {
    this.byteCount -= f.frame.length;
    this.inflightBytes -= f.frame.length;
  }
}
