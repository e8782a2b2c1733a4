/**
 * One connection's PUBLISH sequence numbers (PROTOCOL-RELAY.md §3.1) and its cumulative, batched ACKs (§3.2).
 * Numbers are counted here without bound; protocol.ts writes them on the wire modulo 2^32 (§3.1).
 */
import { encodeAck } from './protocol.js';

/**
 * An ACK goes out once this many PUBLISHes are settled since the last one, or ACK_DELAY_MS after the first (§3.2).
 * 100 ms: a publisher sending a few frames a second would otherwise get one ACK per frame, a second socket write
 * per delivery in a two-member room (bench/relay.ts, 1,000 rooms x 2: 0.59 - 0.65 of bare ws per CPU-second at
 * 10 ms, 0.65 - 0.81 at 100 ms); a client holds its frames that much longer.
 */
export const ACK_EVERY = 32;
export const ACK_DELAY_MS = 100;

export class PublishAcks {
  /** PUBLISH messages received: the last one's sequence number (§3.1). */
  private published: number;
  /** Sequence numbers handed to the engine and not settled yet, oldest first (the engine settles in order). */
  private readonly storing: number[] = [];
  /** The last sequence number acknowledged. */
  private acked: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /**
   * `send` writes an ACK to the connection. `start`: the count before the first PUBLISH (0 on the wire; a
   * test starts near 2^32 to see the numbers wrap without sending 2^32 messages).
   */
  constructor(
    private readonly send: (message: Buffer) => void,
    start = 0,
  ) {
    this.published = start;
    this.acked = start;
  }

  /** §3.1 The sequence number of the PUBLISH just received. */
  next(): number {
    return ++this.published;
  }

  /** True while the engine holds a PUBLISH not settled yet. */
  get storingAny(): boolean {
    return this.storing.length > 0;
  }

  /** PUBLISH `seq` was handed to the engine. */
  hold(seq: number): void {
    this.storing.push(seq);
  }

  /** The oldest PUBLISH the engine holds (the next it settles: engines settle in order); -1 when none. */
  oldest(): number {
    return this.storing.length > 0 ? this.storing[0]! : -1;
  }

  /** The engine settled `seq` (the oldest one it holds: engines settle in order). */
  stored(seq: number): void {
    if (this.storing[0] === seq) this.storing.shift();
    else {
      const at = this.storing.indexOf(seq);
      if (at >= 0) this.storing.splice(at, 1);
    }
    this.settled();
  }

  /** §3.2 A PUBLISH was settled: an ACK every ACK_EVERY settled PUBLISHes, or ACK_DELAY_MS after the first. */
  settled(): void {
    const upTo = this.upTo();
    if (upTo - this.acked >= ACK_EVERY) return this.flush();
    if (upTo > this.acked && this.timer === undefined && !this.stopped) {
      this.timer = setTimeout(() => this.flush(), ACK_DELAY_MS);
      this.timer.unref();
    }
  }

  /** Acknowledges every settled PUBLISH now (if any is not acknowledged yet). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const upTo = this.upTo();
    if (upTo <= this.acked) return;
    this.acked = upTo;
    this.send(encodeAck(upTo));
  }

  /** The connection is closing: no ACK is scheduled any more (flush() still sends one). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Every PUBLISH up to this one is settled. */
  private upTo(): number {
    return this.storing.length > 0 ? this.storing[0]! - 1 : this.published;
  }
}
