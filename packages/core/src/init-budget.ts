/**
 * The handshakes one member may make this member run (docs/PROTOCOL.md §7.7, §2.1).
 *
 * Reading an init costs two X25519 operations, and an init request makes this member write one (two more).
 * Both come only from the member itself: an init carries a pair tag only its sender can make (§7.2), an init
 * request its signature. So each member id (not each instance: a member can draw instance ids at will) gets a
 * token bucket: INIT_BURST at once, then one per `refillMs` (the handshake retry delay: a genuine initiator
 * never sends faster). An init over budget is not dropped: it is deferred, and read when the bucket refills.
 * At most MAX_DEFERRED_INITS inits wait per member; when that many wait, a new one replaces a random waiting
 * one.
 */
import { TokenBucket } from './token-bucket.js';

export const INIT_BURST = 4;
const MAX_DEFERRED_INITS = 4;

export class InitBudget {
  readonly #bucket: TokenBucket;
  #deferred: Uint8Array[] = [];
  /** The timer that reads the next deferred init (channels.ts). */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(refillMs: number, now: number) {
    this.#bucket = new TokenBucket(INIT_BURST, 1, Math.max(1, refillMs), now);
  }

  /** Spends one token if there is one. */
  take(now: number): boolean {
    return this.#bucket.take(now);
  }

  /** Milliseconds until the next token. */
  wait(now: number): number {
    return this.#bucket.wait(now);
  }

  /** Keeps a copy of an init over budget; returns false if it replaced another waiting init. */
  defer(frame: Uint8Array): boolean {
    if (this.#deferred.length < MAX_DEFERRED_INITS) {
      this.#deferred.push(frame);
      return true;
    }
    const r = crypto.getRandomValues(new Uint32Array(1))[0]! % MAX_DEFERRED_INITS;
    this.#deferred[r] = frame;
    return false;
  }

  /** The oldest waiting init, removed. */
  next(): Uint8Array | undefined {
    return this.#deferred.shift();
  }

  get waiting(): number {
    return this.#deferred.length;
  }

  /** Drops the waiting inits and stops the timer that reads them. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.#deferred = [];
  }
}
