/**
 * AttemptLimiter: the moderator's bound on password guesses (docs/PROTOCOL.md §R4 "Attempt limits").
 *
 * CPace leaves an attacker exactly one online guess per run: the moderator's share plus whatever it sends under
 * the resulting key lets the attacker test one password. So every run the moderator *answers* counts as an
 * attempt the moment it starts, and only a run that ends in a verified success (key confirmation checked) is
 * taken back. Failures, timeouts and runs the joiner abandons all stay counted.
 *
 * The bounds, over a sliding window of `windowMs` on an injectable clock (no timers, nothing to close), are
 * kept per **invite** (§R2: the invite id the moderator verified in the join request, or `MEMBERS` for a key
 * the room state lists) as well as per joiner, so that one invite holder cannot spend everyone's budget:
 * - per joiner (by lobby member id): at most `maxAttemptsPerJoiner` counted attempts (default 5);
 * - per invite: at most `maxAttemptsPerInvite` counted attempts (default 50), because member ids are free to
 *   mint: this is what stops an attacker holding one invite;
 * - concurrency: at most `maxConcurrentPerInvite` runs in progress per invite (default 2) and
 *   `maxConcurrent` in all (default 8, the moderator's CPU);
 * - memory: at most `maxInvites` invites with counted attempts in the window (default 64; a later invite is
 *   refused until one leaves), so at most maxInvites × maxAttemptsPerInvite attempts are remembered.
 *
 * Invite ids cannot be minted by a joiner: only invites whose signature the moderator verified reach the
 * limiter (lobby-desk.ts). Refusals throw SealsigError E_RATE_LIMITED.
 */
import { SealsigError } from '@sealsig/core';

/** The invite key under which the requests of keys the room state lists (resynchronisation, §R5.5) are counted. */
export const MEMBERS = 'members';

/** Limits on password attempts (CPace runs) a moderator accepts (§R4). */
export interface AttemptLimiterOptions {
  /** Counted attempts per joiner (lobby member id) within the window (default 5). */
  maxAttemptsPerJoiner?: number;
  /** Counted attempts per invite within the window (default 50). */
  maxAttemptsPerInvite?: number;
  /** Runs in progress at once per invite (default 2). */
  maxConcurrentPerInvite?: number;
  /** Runs in progress at once over all invites (default 8). */
  maxConcurrent?: number;
  /** Invites with counted attempts within the window (default 64). */
  maxInvites?: number;
  /** Sliding window, ms (default 10 minutes). */
  windowMs?: number;
  /** Clock in ms (default Date.now); inject for tests. */
  now?: () => number;
}

/** One run admitted by the limiter. Settle it exactly once; later calls are no-ops. */
export interface AttemptTicket {
  /** The joiner the attempt is counted for. */
  readonly joinerId: string;
  /** The invite the attempt is counted for. */
  readonly inviteId: string;
  /** The run ended in a verified success: the attempt is taken back and the slot released. */
  succeed(): void;
  /** The run failed, timed out or was abandoned: the attempt stays counted; the slot is released. */
  fail(): void;
}

/** One counted attempt (an object, so that a refund removes exactly this one). */
interface Attempt {
  at: number;
  joiner: string;
  invite: string;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new SealsigError('E_INVALID_ARGUMENT', `AttemptLimiter: ${name} must be a positive integer`);
  return v;
}

function remove<K>(map: Map<K, Attempt[]>, key: K, a: Attempt): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(a);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

/** Counts password attempts per joiner and per invite in a sliding window, and bounds concurrent runs (§R4). */
export class AttemptLimiter {
  /** Counted attempts per joiner within the window. */
  readonly maxAttemptsPerJoiner: number;
  /** Counted attempts per invite within the window. */
  readonly maxAttemptsPerInvite: number;
  /** Runs in progress at once per invite. */
  readonly maxConcurrentPerInvite: number;
  /** Runs in progress at once in all. */
  readonly maxConcurrent: number;
  /** Invites with counted attempts within the window. */
  readonly maxInvites: number;
  /** The sliding window, ms. */
  readonly windowMs: number;
  readonly #now: () => number;
  /** Counted attempts per joiner and per invite, oldest first (the same objects in both). */
  readonly #byJoiner = new Map<string, Attempt[]>();
  readonly #byInvite = new Map<string, Attempt[]>();
  readonly #activeByInvite = new Map<string, number>();
  #active = 0;

  constructor(options: AttemptLimiterOptions = {}) {
    this.maxAttemptsPerJoiner = positiveInt('maxAttemptsPerJoiner', options.maxAttemptsPerJoiner, 5);
    this.maxAttemptsPerInvite = positiveInt('maxAttemptsPerInvite', options.maxAttemptsPerInvite, 50);
    this.maxConcurrentPerInvite = positiveInt('maxConcurrentPerInvite', options.maxConcurrentPerInvite, 2);
    this.maxConcurrent = positiveInt('maxConcurrent', options.maxConcurrent, 8);
    this.maxInvites = positiveInt('maxInvites', options.maxInvites, 64);
    this.windowMs = positiveInt('windowMs', options.windowMs, 10 * 60_000);
    this.#now = options.now ?? Date.now;
  }

  /** Runs in progress (of one invite, or in all). */
  active(inviteId?: string): number {
    return inviteId === undefined ? this.#active : (this.#activeByInvite.get(inviteId) ?? 0);
  }

  /** Counted attempts within the window: of one joiner, of one invite, or in all. */
  attempts(of: { joinerId?: string; inviteId?: string } = {}): number {
    this.#prune(this.#now());
    if (of.joinerId !== undefined) return this.#byJoiner.get(of.joinerId)?.length ?? 0;
    if (of.inviteId !== undefined) return this.#byInvite.get(of.inviteId)?.length ?? 0;
    let total = 0;
    for (const list of this.#byInvite.values()) total += list.length;
    return total;
  }

  /** Joiners and invites with attempts in the window (the limiter's memory). */
  get tracked(): {
    /** Joiners with counted attempts. */
    joiners: number;
    /** Invites with counted attempts (at most maxInvites). */
    invites: number;
  } {
    this.#prune(this.#now());
    return { joiners: this.#byJoiner.size, invites: this.#byInvite.size };
  }

  /**
   * Milliseconds until `begin(joinerId, inviteId)` can succeed as far as counted attempts go (0 if it can now).
   * Does not account for the concurrency bounds, which free up when running attempts settle.
   */
  retryAfter(joinerId: string, inviteId: string): number {
    const now = this.#now();
    this.#prune(now);
    const wait = (list: Attempt[] | undefined, max: number) => (list !== undefined && list.length >= max ? list[list.length - max]!.at + this.windowMs - now : 0);
    let w = Math.max(wait(this.#byJoiner.get(joinerId), this.maxAttemptsPerJoiner), wait(this.#byInvite.get(inviteId), this.maxAttemptsPerInvite));
    if (!this.#byInvite.has(inviteId) && this.#byInvite.size >= this.maxInvites) {
      let oldest = Infinity;
      for (const list of this.#byInvite.values()) oldest = Math.min(oldest, list[list.length - 1]!.at);
      w = Math.max(w, oldest + this.windowMs - now);
    }
    return w;
  }

  /**
   * Admits one run for `joinerId` under `inviteId`, or throws SealsigError('E_RATE_LIMITED') if the joiner or
   * the invite has spent its budget or too many runs are in progress. The attempt counts from now on.
   */
  begin(joinerId: string, inviteId: string): AttemptTicket {
    for (const [name, v] of [['joinerId', joinerId], ['inviteId', inviteId]] as const) {
      if (typeof v !== 'string' || v.length === 0) throw new SealsigError('E_INVALID_ARGUMENT', `AttemptLimiter: ${name} must be a non-empty string`);
    }
    const now = this.#now();
    this.#prune(now);
    if (this.#active >= this.maxConcurrent) throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: too many runs in progress');
    if ((this.#activeByInvite.get(inviteId) ?? 0) >= this.maxConcurrentPerInvite) {
      throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: too many runs in progress for this invite');
    }
    if ((this.#byJoiner.get(joinerId)?.length ?? 0) >= this.maxAttemptsPerJoiner) {
      throw new SealsigError('E_RATE_LIMITED', `password attempt refused: joiner locked out for ${this.retryAfter(joinerId, inviteId)} ms`);
    }
    const byInvite = this.#byInvite.get(inviteId);
    if ((byInvite?.length ?? 0) >= this.maxAttemptsPerInvite) throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: this invite has spent its attempts');
    if (byInvite === undefined && this.#byInvite.size >= this.maxInvites) throw new SealsigError('E_RATE_LIMITED', 'password attempt refused: too many invites in use');
    const attempt: Attempt = { at: now, joiner: joinerId, invite: inviteId };
    for (const [map, key] of [[this.#byJoiner, joinerId], [this.#byInvite, inviteId]] as const) {
      const list = map.get(key) ?? [];
      list.push(attempt);
      map.set(key, list);
    }
    this.#active++;
    this.#activeByInvite.set(inviteId, (this.#activeByInvite.get(inviteId) ?? 0) + 1);

    let settled = false;
    const settle = (success: boolean): void => {
      if (settled) return;
      settled = true;
      this.#active--;
      const left = this.#activeByInvite.get(inviteId)! - 1;
      if (left === 0) this.#activeByInvite.delete(inviteId);
      else this.#activeByInvite.set(inviteId, left);
      if (success) {
        remove(this.#byJoiner, joinerId, attempt);
        remove(this.#byInvite, inviteId, attempt);
      }
    };
    return { joinerId, inviteId, succeed: () => settle(true), fail: () => settle(false) };
  }

  /** Drops attempts older than the window, and joiners and invites left without any. */
  #prune(now: number): void {
    const horizon = now - this.windowMs;
    for (const map of [this.#byJoiner, this.#byInvite]) {
      for (const [id, list] of map) {
        let drop = 0;
        while (drop < list.length && list[drop]!.at <= horizon) drop++;
        if (drop > 0) list.splice(0, drop);
        if (list.length === 0) map.delete(id);
      }
    }
  }
}
