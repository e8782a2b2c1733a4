/**
 * Paces the moderator's pairwise control frames (docs/PROTOCOL.md §R5.3). A kick in a 256-member room hands
 * 255 key frames out at once; a relay limits each connection (sealsig's: 100 frames/s, burst 200) and would
 * drop the excess. A token bucket below that limit sends what it may at once and the rest as tokens come;
 * a frame queued again for the same member replaces the one waiting (only the newest repair matters).
 */
export interface PaceOptions {
  /** Frames per second once the burst is spent (default 90). */
  perSecond?: number;
  /** Frames sent at once from idle (default 180). */
  burst?: number;
}

export class Pacer {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #at = Date.now();
  readonly #queue = new Map<string, () => void>(); // by member id, oldest first
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: PaceOptions = {}) {
    this.#perSecond = Math.max(1, o.perSecond ?? 90);
    this.#burst = Math.max(1, o.burst ?? 180);
    this.#tokens = this.#burst;
  }

  /** Frames waiting. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Sends `send` for `id` now if a token is free, else when one is (replacing what waits for `id`). */
  push(id: string, send: () => void): void {
    this.#queue.delete(id);
    this.#queue.set(id, send);
    this.#drain();
  }

  /** Drops everything waiting. */
  clear(): void {
    this.#queue.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #drain(): void {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#perSecond) / 1000);
    this.#at = now;
    for (const [id, send] of this.#queue) {
      if (this.#tokens < 1) break;
      this.#tokens -= 1;
      this.#queue.delete(id);
      send();
    }
    if (this.#queue.size > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drain();
      }, Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond));
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }
}
