/**
 * A token bucket: at most `capacity` tokens, refilled continuously at `tokens` per `ms`, full at the start.
 * The one rate limiter behind the init budget (§7.7), the admission queues (§6.5) and the rooms lobby's
 * grant checks (rooms §R3).
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #tokensPer: number;
  readonly #ms: number;
  #tokens: number;
  #at: number;

  /** `tokens` per `ms` (e.g. 2 per 1,000 ms), from a full bucket of `capacity` at `now`. */
  constructor(capacity: number, tokens: number, ms: number, now: number) {
    this.#capacity = capacity;
    this.#tokensPer = tokens;
    this.#ms = ms;
    this.#tokens = capacity;
    this.#at = now;
  }

  /** Spends one token if there is one at `now`. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until a token is there (0: one is). */
  wait(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * this.#ms) / this.#tokensPer);
  }

  /** Whether the bucket is full at `now` (nothing spent that has not come back). */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#capacity;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#tokensPer) / this.#ms);
  }
}
