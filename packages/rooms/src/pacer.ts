/**
 * Paces the moderator's pairwise control frames (docs/PROTOCOL.md §R5.3). A kick in a 256-member room hands
 * 255 key frames out at once, more than a relay takes from one connection at once (sealsig's: 100 frames/s,
 * burst 200). A transport that paces (Transport.pacing, docs/ADAPTERS.md §1) sends under that limit itself
 * and holds back the rest; the pacer hands it a frame only while it holds none back, and otherwise waits for
 * drained(). So the transport's bounded queue never fills with these frames, and a frame queued again for the
 * same member replaces the one still waiting here: the moderator decides what it sends when it is handed
 * over (moderator.ts catchUp), so one frame at most goes per member and turn. No timer is involved:
 * the transport, paced by the relay's acknowledgements, decides when. A transport without pacing gets every
 * frame at once.
 */
import type { TransportPacing } from '@sealsig/core';

export class Pacer {
  readonly #pacing: TransportPacing | undefined;
  readonly #queue = new Map<string, () => void>(); // by member id, oldest first
  /** A drained() is pending: the next frame goes when it settles. */
  #waiting = false;

  constructor(pacing: TransportPacing | undefined) {
    this.#pacing = pacing;
  }

  /** Frames waiting. */
  get waiting(): number {
    return this.#queue.size;
  }

  /** Whether a frame waits for `id`. */
  holds(id: string): boolean {
    return this.#queue.has(id);
  }

  /** Sends `send` for `id` now if the transport holds nothing back, else once it does not (replacing what waits for `id`). */
  push(id: string, send: () => void): void {
    this.#queue.delete(id);
    this.#queue.set(id, send);
    this.#drain();
  }

  /** Drops everything waiting. */
  clear(): void {
    this.#queue.clear();
  }

  #drain(): void {
    if (this.#waiting) return;
    for (const [id, send] of this.#queue) {
      const pacing = this.#pacing;
      if (pacing !== undefined && pacing.backlog > 0) {
        this.#waiting = true;
        pacing.drained().then(
          () => {
            this.#waiting = false;
            this.#drain();
          },
          () => {
            this.#waiting = false;
            this.#queue.clear(); // the transport closed: nothing will go
          },
        );
        return;
      }
      this.#queue.delete(id);
      send();
    }
  }
}
