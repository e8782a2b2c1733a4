/**
 * Anti-replay sliding window (RFC 4303 §3.4.3, with the bitmap layout of RFC 6479).
 *
 * check(n) runs before decryption and never changes state; accept(n) runs only after the frame has been
 * authenticated. The window holds the highest accepted counter `top` and one bit for each of the
 * `size` counters ending at `top`.
 */
export const DEFAULT_REPLAY_WINDOW = 1024;

export type ReplayVerdict = 'ok' | 'duplicate' | 'too-old';

/** A sliding anti-replay window over counters (RFC 4303 §3.4.3): check() before, accept() after authentication. */
export class ReplayWindow {
  /** Window width in counters. */
  readonly size: number;
  private readonly bits: Uint32Array;
  private top = -1;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 128 || size % 32 !== 0) throw new RangeError('window size: a multiple of 32, at least 128');
    this.size = size;
    this.bits = new Uint32Array(size / 32);
  }

  /** The highest counter accepted so far, or -1. */
  get highest(): number {
    return this.top;
  }

  /** Whether counter `n` is new ('ok'), already accepted ('duplicate') or below the window ('too-old'). */
  check(n: number): ReplayVerdict {
    if (n > this.top) return 'ok';
    if (n <= this.top - this.size) return 'too-old';
    return this.get(n) ? 'duplicate' : 'ok';
  }

  /** Marks n as seen. Call only after check(n) === 'ok' and authentication succeeded. */
  accept(n: number): void {
    if (n > this.top) {
      // Clear the bits of the counters the window slides over (at most the whole window).
      const steps = Math.min(n - this.top, this.size);
      for (let i = 1; i <= steps; i++) this.clear(this.top + i);
      this.top = n;
    }
    this.set(n);
  }

  private index(n: number): [number, number] {
    const bit = n % this.size;
    return [bit >>> 5, 1 << (bit & 31)];
  }
  private get(n: number): boolean {
    const [w, m] = this.index(n);
    return (this.bits[w]! & m) !== 0;
  }
  private set(n: number): void {
    const [w, m] = this.index(n);
    this.bits[w]! |= m;
  }
  private clear(n: number): void {
    const [w, m] = this.index(n);
    this.bits[w]! &= ~m;
  }
}
