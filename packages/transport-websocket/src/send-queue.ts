import { SealsigError } from '@sealsig/core';

/**
 * The frames published while the socket is down, flushed in order once it is back (after the
 * subscriptions are restored). Bounded in count and in bytes, so a long outage cannot exhaust memory:
 * when either bound would be exceeded, push() throws E_QUEUE_FULL and the caller's publish() rejects.
 */
export interface QueuedFrame {
  topic: string;
  frame: Uint8Array;
}

export class SendQueue {
  private items: QueuedFrame[] = [];
  private byteCount = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Queues a copy of `frame` (the caller may reuse its buffer once publish() resolved). */
  push(topic: string, frame: Uint8Array): void {
    if (this.items.length + 1 > this.maxFrames) {
      throw new SealsigError('E_QUEUE_FULL', `send queue full: ${this.maxFrames} frames waiting for the relay`);
    }
    if (this.byteCount + frame.length > this.maxBytes) {
      throw new SealsigError('E_QUEUE_FULL', `send queue full: ${this.byteCount} of ${this.maxBytes} bytes waiting for the relay`);
    }
    this.items.push({ topic, frame: frame.slice() });
    this.byteCount += frame.length;
  }

  /** Removes and returns the oldest frame. */
  shift(): QueuedFrame | undefined {
    const item = this.items.shift();
    if (item) this.byteCount -= item.frame.length;
    return item;
  }

  /** Puts a frame back at the head (a send failed mid-flush). */
  unshift(item: QueuedFrame): void {
    this.items.unshift(item);
    this.byteCount += item.frame.length;
  }

  clear(): void {
    this.items = [];
    this.byteCount = 0;
  }
}
