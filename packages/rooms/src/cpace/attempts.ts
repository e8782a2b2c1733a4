/**
 * AttemptLimiter: the member side's bound on password guesses.
 *
 * CPace leaves an attacker exactly one online guess per run: the member's share plus whatever the member sends
 * under the resulting key lets the attacker test one password. So every run the member *answers* counts as an
 * attempt the moment it starts, and only a run that ends in a verified success (key confirmation checked) is
 * taken back. Failures, timeouts and runs the joiner abandons all stay counted.
 *
 * Three bounds, all over a sliding window of `windowMs` on an injectable clock (no timers, nothing to close):
 * - per joiner (by member id): at most `maxAttemptsPerJoiner` counted attempts; then the joiner is locked out
 *   until its oldest attempt leaves the window;
 * - global: at most `maxAttemptsGlobal` counted attempts over all joiners, because member ids are chosen by the
 *   joiner and an attacker can rotate them; this also bounds the limiter's memory;
 * - concurrency: at most `maxConcurrent` runs in progress.
 *
 * Refusals throw SealsigError E_RATE_LIMITED.
 */
import { SealsigError } from '@sealsig/core';


/** Limits on password attempts (CPace runs) a moderator accepts (§R4). */
export interface AttemptLimiterOptions {
  /** Counted attempts per joiner within the window (default 5). */
  maxAttemptsPerJoiner?: number;
  /** Counted attempts over all joiners within the window (default 50). */
  maxAttemptsGlobal?: number;
  /** Runs in progress at once (default 4). */
  maxConcurrent?: number;
  /** Sliding window, ms (default 10 minutes). */
  windowMs?: number;
  /** Clock in ms (default Date.now); inject for tests. */
  now?: () => number;
}

/** One run admitted by the limiter. Settle it exactly once; later calls are no-ops. */
export interface AttemptTicket {
  /** The joiner the attempt is counted for. */
  readonly joinerId: string;
  /** The run ended in a verified success: the attempt is taken back and the slot released. */
  succeed(): void;
  /** The run failed, timed out or was abandoned: the attempt stays counted; the slot is released. */
  fail(): void;
}

/** One counted attempt (an object, so that a refund removes exactly this one). */
interface Attempt {
  at: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new SealsigError('E_INVALID_ARGUMENT', `AttemptLimiter: ${name} must be a positive integer`);
  return v;
}

/** Counts password attempts per joiner and in all, in a sliding window, and bounds concurrent runs (§R4). */
export class AttemptLimiter {
  /** Counted attempts per joiner within the window. */
  readonly maxAttemptsPerJoiner: number;
  /** Counted attempts over all joiners within the window. */
  readonly maxAttemptsGlobal: number;
  /** Runs in progress at once. */
  readonly maxConcurrent: number;
  /** The sliding window, ms. */
  readonly windowMs: number;
  readonly #now: () => number;
  /** Counted attempts per joiner, oldest first. */
  readonly #byJoiner = new Map<string, Attempt[]>();
  #active = 0;

  constructor(options: AttemptLimiterOptions = {}) {
    this.maxAttemptsPerJoiner = positiveInt('maxAttemptsPerJoiner', options.maxAttemptsPerJoiner, 5);
    this.maxAttemptsGlobal = positiveInt('maxAttemptsGlobal', options.maxAttemptsGlobal, 50);
    this.maxConcurrent = positiveInt('maxConcurrent', options.maxConcurrent, 4);
    this.windowMs = positiveInt('windowMs', options.windowMs, 10 * 60_000);
    this.#now = options.now ?? Date.now;
  }

  /** Runs in progress. */
  get active(): number {
    return this.#active;
  }

  /** Counted attempts of one joiner (or of all joiners) within the window. */
  attempts(joinerId?: string): number {
    this.#prune(this.#now());
    if (joinerId !== undefined) return this.#byJoiner.get(joinerId)?.length ?? 0;
    let total = 0;
    for (const list of this.#byJoiner.values()) total += list.length;
    return total;
  }

  /** Joiners with attempts in the window (the limiter's memory, bounded by maxAttemptsGlobal). */
  get trackedJoiners(): number {
    this.#prune(this.#now());
    return this.#byJoiner.size;
  }

  /**
   * Milliseconds until `begin(joinerId)` can succeed as far as counted attempts go (0 if it can now). Does not
   * account for the concurrency bound, which frees up when running attempts settle.
   */
  retryAfter(joinerId: string): number {
    const now = this.#now();
    this.#prune(now);
    let wait = 0;
    const own = this.#byJoiner.get(joinerId);
    if (own !== undefined && own.length >= this.maxAttemptsPerJoiner) {
      wait = Math.max(wait, own[own.length - this.maxAttemptsPerJoiner]!.at + this.windowMs - now);
    }
    const all = [...this.#byJoiner.values()].flat().sort((a, b) => a.at - b.at);
    if (all.length >= this.maxAttemptsGlobal) {
      wait = Math.max(wait, all[all.length - this.maxAttemptsGlobal]!.at + this.windowMs - now);
    }
    return wait;
  }

  /**
   * Admits one run for `joinerId`, or throws SealsigError('E_RATE_LIMITED') if the joiner is locked out, the
   * global budget is spent or too many runs are in progress. The attempt counts from now on.
   */
  begin(joinerId: string): AttemptTicket {
    if (typeof joinerId !== 'string' || joinerId.length === 0) {
      throw new SealsigError('E_INVALID_ARGUMENT', 'AttemptLimiter: joinerId must be a non-empty string');
    }
    const now = this.#now();
    this.#prune(now);
    if (this.#active >= this.maxConcurrent) {
      throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: too many runs in progress');
    }
    const own = this.#byJoiner.get(joinerId) ?? [];
    if (own.length >= this.maxAttemptsPerJoiner) {
      throw new SealsigError('E_RATE_LIMITED', `password attempt refused: joiner locked out for ${this.retryAfter(joinerId)} ms`);
    }
    if (this.attempts() >= this.maxAttemptsGlobal) {
      throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: global attempt budget spent');
    }
    const attempt: Attempt = { at: now };
    own.push(attempt);
    this.#byJoiner.set(joinerId, own);
    this.#active++;

    let settled = false;
    const settle = (success: boolean): void => {
      if (settled) return;
      settled = true;
      this.#active--;
      if (success) {
        const list = this.#byJoiner.get(joinerId);
        if (list !== undefined) {
          const i = list.indexOf(attempt);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.#byJoiner.delete(joinerId);
        }
      }
    };
    return { joinerId, succeed: () => settle(true), fail: () => settle(false) };
  }

  /** Drops attempts older than the window, and joiners left without any. */
  #prune(now: number): void {
    const horizon = now - this.windowMs;
    for (const [id, list] of this.#byJoiner) {
      let drop = 0;
      while (drop < list.length && list[drop]!.at <= horizon) drop++;
      if (drop > 0) list.splice(0, drop);
      if (list.length === 0) this.#byJoiner.delete(id);
    }
  }
}
