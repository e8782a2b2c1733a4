/**
 * How many PUBLISHes the relay surely takes from this connection now (PROTOCOL-RELAY.md §4: a token bucket per
 * connection, `burst` tokens refilled at `perSecond`, one taken by each PUBLISH when the relay reads it; an
 * empty bucket refuses it with NACK 2 and counts a `rate_limited` drop).
 *
 * The client cannot see when the relay reads a frame; it knows two bounds: after it sent the frame, and before
 * the ACK covering it came back (§3.2). So this bucket, a lower bound on the relay's, counts every acknowledged
 * frame as taken when its ACK arrived (the latest it can have been read: the relay refilled less before it
 * than it really did), and every frame sent and not yet acknowledged as taken now, with no refill at all (they
 * may all be read together, later). Whatever the delays (a stalled event loop at either end, a slow network),
 * a frame sent while `available() >= 1` finds a token: for any two frames j < k, the relay's clock advanced
 * between reading them at least as much as this one between j's ACK and k's sending. Only the two clocks'
 * rates are assumed equal, not their readings. Timers that fire late only make the client send later.
 *
 * The bucket's size and refill are what the relay announced on this connection (LIMITS, §3.5), else those of
 * PROTOCOL-RELAY.md §4 (a relay older than LIMITS); `publishLimit`, when the user set it, caps them.
 */
import type { AnnouncedRate } from './protocol.js';

/** A token bucket: `burst` tokens, refilled at `perSecond` (the shape the relay announces, §3.5). */
export type RateLimit = AnnouncedRate;

/** The relay's default PUBLISH limit (PROTOCOL-RELAY.md §4), until it announces its own (§3.5). */
export const DEFAULT_PUBLISH_LIMIT: RateLimit = { perSecond: 100, burst: 200 };

/** A bucket within both `a` and `b` (each field the lower), or `a` alone. */
export function lowerLimit(a: RateLimit, b: RateLimit | undefined): RateLimit {
  return b === undefined ? a : { perSecond: Math.min(a.perSecond, b.perSecond), burst: Math.min(a.burst, b.burst) };
}

/** Slack for the relay's floating-point refill: a frame is sent only with this much more than one token. */
const EPSILON = 1e-6;

export class RelayBudget {
  #limit: RateLimit;
  /** Tokens left after the acknowledged frames, at #at (may be negative: the relay read them earlier). */
  #level: number;
  #at: number;
  /** PUBLISHes sent on this connection, and the highest sequence number acknowledged. */
  #sent = 0;
  #acked = 0;
  /** No ACK came on this connection yet: the relay's bucket has been full since it admitted the connection. */
  #fresh = true;

  constructor(limit: RateLimit, now: number) {
    this.#limit = limit;
    this.#level = limit.burst;
    this.#at = now;
  }

  /**
   * A new connection: the relay starts it with a full bucket, and counts its PUBLISHes from 1 (after `start`).
   * `limit`: the bucket assumed until the relay announces one (§3.5).
   */
  reset(now: number, start = 0, limit = this.#limit): void {
    this.#limit = limit;
    this.#fresh = true;
    this.#level = limit.burst;
    this.#at = now;
    this.#sent = start;
    this.#acked = start;
  }

  /** Tokens the relay surely holds now, once the frames in flight are read. */
  available(now: number): number {
    return this.#refilled(now) - (this.#sent - this.#acked);
  }

  /** Whether one more PUBLISH may go now. */
  allows(now: number): boolean {
    return this.available(now) >= 1 + EPSILON;
  }

  /** Milliseconds until allows() holds if no ACK comes meanwhile (0 if it does now). */
  waitMs(now: number): number {
    const missing = 1 + EPSILON - this.available(now);
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.#limit.perSecond);
  }

  /**
   * §3.5 LIMITS: the relay's bucket is `limit` from now on. Before any ACK (the relay sends LIMITS first) its
   * bucket has been full at the announced size since it admitted the connection, before this end saw it open:
   * the frames in flight are taken from that. A later LIMITS keeps the tokens left, capped at the new size.
   */
  adopt(limit: RateLimit, now: number): void {
    if (!this.#fresh) {
      this.#level = Math.min(limit.burst, this.#refilled(now));
      this.#at = now;
    } else this.#level = limit.burst;
    this.#limit = limit;
  }

  /** A PUBLISH went out. */
  sent(): void {
    this.#sent++;
  }

  /** §3.2 ACK `seq` (unwrapped, serial.ts): every PUBLISH up to it was read (a NACKed one too: counted as taken, the safe side). */
  acknowledged(seq: number, now: number): void {
    const upTo = Math.min(seq, this.#sent);
    if (upTo <= this.#acked) return;
    this.#level = this.#refilled(now) - (upTo - this.#acked);
    this.#at = now;
    this.#acked = upTo;
    this.#fresh = false;
  }

  #refilled(now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    return Math.min(this.#limit.burst, this.#level + (elapsed * this.#limit.perSecond) / 1000);
  }
}
