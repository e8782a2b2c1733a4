/**
 * Token bucket: `rate` tokens per second, at most `burst` banked. One per connection per kind (frames,
 * subscriptions). Time comes from the caller (performance.now() in ms) so it is cheap and testable.
 */
export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size (the burst allowed after idling). */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
