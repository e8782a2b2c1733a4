/**
 * Jittered exponential backoff for reconnects: attempt n (0-based) waits a uniformly random delay in
 * [cap/2, cap], cap = min(maxDelayMs, minDelayMs * 2^n). The random half keeps many clients that lost one
 * relay at once from reconnecting in lockstep; the fixed half keeps a retry from firing immediately.
 */
export interface BackoffOptions {
  minDelayMs: number;
  maxDelayMs: number;
  /** Uniform in [0, 1); default Math.random (jitter needs no cryptographic randomness). */
  random?: () => number;
}

/** The delay before reconnect attempt \`attempt\` (0-based), in milliseconds. */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const cap = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}
