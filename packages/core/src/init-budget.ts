/**
 * The work a claimed sender may cause with handshake inits (docs/PROTOCOL.md §7.5, §2.1).
 *
 * Reading an init costs two X25519 operations before anything in it is authenticated, and its sender id is
 * only a claim. So each known peer instance gets a token bucket: `burst` inits at once, then one per
 * `refillMs` (the handshake retry delay: a genuine initiator never sends faster). An init over budget is not
 * dropped, since the claimed sender may be a real peer whose name an injector borrows: it is deferred, and
 * read when the bucket refills. At most `maxDeferred` inits wait per peer; when that many wait, a new one
 * replaces a random waiting one, so a flood cannot decide in advance which init survives.
 */
export const INIT_BURST = 4;
const MAX_DEFERRED_INITS = 4;

export class InitBudget {
  readonly #refillMs: number;
  #tokens = INIT_BURST;
  #at: number;
  #deferred: Uint8Array[] = [];

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
