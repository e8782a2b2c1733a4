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
export const INIT_BURST = 4;
const MAX_DEFERRED_INITS = 4;

export class InitBudget {
  readonly #refillMs: number;
  #tokens = INIT_BURST;
  #at: number;
  #deferred: Uint8Array[] = [];
  /** The timer that reads the next deferred init (channels.ts). */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(refillMs: number, now: number) {
    this.#refillMs = Math.max(1, refillMs);
    this.#at = now;
  }

  /** Spends one token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  wait(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) * this.#refillMs);
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

  clear(): void {
    this.#deferred = [];
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(INIT_BURST, this.#tokens + elapsed / this.#refillMs);
  }
}
