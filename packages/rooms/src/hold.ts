/**
 * Messages from a peer the moderator has not listed yet (docs/PROTOCOL.md §R5): a newly admitted member's
 * first messages can overtake the state that lists it. They wait here, bounded, for at most HOLD_MS; they are
 * delivered in order if the peer gets listed in time, and dropped with E_ACCESS_DENIED otherwise.
 */
import { SealsigError } from '@sealsig/core';

export const HOLD_MS = 10_000;
const MAX_PEERS = 16;
const MAX_PER_PEER = 32;

const refused = (n = 1) => new SealsigError('E_ACCESS_DENIED', `${n} message(s) from a peer the moderator has not admitted`);

export class HoldBuffer {
  readonly #held = new Map<string, { items: (() => void)[]; expires: number }>(); // by member id
  readonly #report: (e: SealsigError) => void;

  constructor(report: (e: SealsigError) => void) {
    this.#report = report;
  }

  /** Keeps `deliver` for the peer, or reports the message refused when the buffer is full. */
  hold(peerId: string, deliver: () => void, now = Date.now()): void {
    for (const [id, h] of this.#held) {
      if (h.expires > now) continue;
      this.#held.delete(id);
      this.#report(refused(h.items.length));
    }
    let h = this.#held.get(peerId);
    if (h === undefined) {
      if (this.#held.size >= MAX_PEERS) return this.#report(refused());
      h = { items: [], expires: now + HOLD_MS };
      this.#held.set(peerId, h);
    }
    if (h.items.length >= MAX_PER_PEER) return this.#report(refused());
    h.items.push(deliver);
  }

  /** The peer is listed now: delivers what waits for it, in order (unless it waited too long). */
  release(peerId: string, now = Date.now()): void {
    const h = this.#held.get(peerId);
    if (h === undefined) return;
    this.#held.delete(peerId);
    if (h.expires <= now) return this.#report(refused(h.items.length));
    for (const deliver of h.items) deliver();
  }

  /** The peer left: what waits for it is dropped. */
  forget(peerId: string): void {
    this.#held.delete(peerId);
  }
}
