/**
 * The lobby desk's memory (docs/PROTOCOL.md §R3 "The desk's pool"): pending join requests, bounded in all
 * and per invite, dropped when their joiner stops retransmitting, and small tombstones of decided ones, so that
 * no single party can fill the desk:
 *
 * - a **pending** record (a password run or a question to the app under way) counts against its invite's
 *   quota (at most `maxPendingPerInvite`, default 8) and the pool (at most `maxPending`, default 64); a key
 *   the state lists (MEMBERS) is never refused for room;
 * - a pending record whose joiner has not retransmitted for `idleMs` (default 10 s; joiners retransmit every
 *   second) is dropped: a slow flooder that holds slots without resending loses them;
 * - a **decided** record leaves the pool at once and keeps only a tombstone, a 16-byte hash of (joiner id,
 *   instance, nonce) and the answer, for `keepDecidedMs` (150 s: core's max age plus future skew), so that a
 *   retransmission or replay still gets the stored answer; at most `maxTombstones` (default 1024), the oldest
 *   dropped first.
 *
 * In front of the desk, the lobby's door (lobby-door.ts) limits how many new lobby identities each invite
 * brings in. Pure bookkeeping on an injected clock: no timers, no I/O.
 */
import { blake2b, concatBytes, toHex, utf8 } from '@sealsig/core';
import type { RejectCode } from './wire.js';

/** The desk's bounds (§R3). */
export interface DeskLimits {
  /** Pending requests in all (default 64). */
  maxPending: number;
  /** Pending requests per invite (default 8). */
  maxPendingPerInvite: number;
  /** A pending request not retransmitted for this long is dropped, ms (default 10 s). */
  idleMs: number;
  /** How long a decided request's answer is kept, ms (default 150 s). */
  keepDecidedMs: number;
  /** Tombstones kept at most (default 1024; the oldest go first). */
  maxTombstones: number;
}

export const DESK_LIMITS: Readonly<DeskLimits> = { maxPending: 64, maxPendingPerInvite: 8, idleMs: 10_000, keepDecidedMs: 150_000, maxTombstones: 1024 };

/** What the pool keeps of a pending request. */
export interface Pending {
  /** The joiner's lobby member id. */
  readonly memberId: string;
  /** The invite it is counted under (its id as hex, or MEMBERS for a listed key). */
  readonly invite: string;
  /** When the joiner was last heard for this request (ms). */
  heardAt: number;
}

/** A decided request's answer, as its tombstone keeps it. */
export type StoredAnswer = { accepted: true } | { accepted: false; code: RejectCode; reason: string };

/** The tombstone key of a request: a hash of the joiner (id, instance) and its nonce. */
export function tombstoneKey(memberId: string, instance: string, nonce: Uint8Array): string {
  return toHex(blake2b(16, concatBytes(utf8(memberId), new Uint8Array(1), utf8(instance), new Uint8Array(1), nonce)));
}

/** Pending requests with quotas, and tombstones of decided ones (§R3). */
export class DeskPool<P extends Pending> {
  readonly limits: Readonly<DeskLimits>;
  readonly #pending = new Map<string, P>(); // by joiner member id
  readonly #perInvite = new Map<string, number>();
  readonly #tombstones = new Map<string, { answer: StoredAnswer; until: number }>(); // oldest first

  constructor(limits: Partial<DeskLimits> = {}) {
    this.limits = { ...DESK_LIMITS, ...limits };
  }

  /** Pending requests: in all, or under one invite. */
  pending(invite?: string): number {
    return invite === undefined ? this.#pending.size : (this.#perInvite.get(invite) ?? 0);
  }

  /** Tombstones kept. */
  get tombstones(): number {
    return this.#tombstones.size;
  }

  /** Whether a new pending request under `invite` fits: 'ok', 'invite-full' or 'full'. A listed key always fits. */
  room(invite: string, listed: boolean): 'ok' | 'invite-full' | 'full' {
    if (listed) return 'ok';
    if (this.pending(invite) >= this.limits.maxPendingPerInvite) return 'invite-full';
    return this.#pending.size >= this.limits.maxPending ? 'full' : 'ok';
  }

  /** The pending request of a joiner. */
  get(memberId: string): P | undefined {
    return this.#pending.get(memberId);
  }

  /** Takes a pending request in (after room() said 'ok'; a joiner's earlier one must have been removed). */
  add(p: P): void {
    this.remove(p.memberId);
    this.#pending.set(p.memberId, p);
    this.#perInvite.set(p.invite, this.pending(p.invite) + 1);
  }

  /** The joiner retransmitted this request. */
  heard(p: P, now: number): void {
    p.heardAt = now;
  }

  /** Takes a pending request out (decided, replaced, or its joiner gone); returns it if it was there. */
  remove(memberId: string): P | undefined {
    const p = this.#pending.get(memberId);
    if (p === undefined) return undefined;
    this.#pending.delete(memberId);
    const left = this.pending(p.invite) - 1;
    if (left > 0) this.#perInvite.set(p.invite, left);
    else this.#perInvite.delete(p.invite);
    return p;
  }

  /** Drops expired tombstones, and removes and returns the pending requests idle for idleMs. */
  sweep(now: number): P[] {
    for (const [key, t] of this.#tombstones) if (t.until <= now) this.#tombstones.delete(key);
    const idle = [...this.#pending.values()].filter((p) => now - p.heardAt >= this.limits.idleMs);
    for (const p of idle) this.remove(p.memberId);
    return idle;
  }

  /** Keeps a decided request's answer under its tombstone key (replacing one already there), the oldest dropped beyond the bound. */
  settle(key: string, answer: StoredAnswer, now: number): void {
    this.#tombstones.delete(key);
    this.#tombstones.set(key, { answer, until: now + this.limits.keepDecidedMs });
    while (this.#tombstones.size > this.limits.maxTombstones) this.#tombstones.delete(this.#tombstones.keys().next().value!);
  }

  /** The stored answer of a decided request, if its tombstone is still kept. */
  answer(key: string, now: number): StoredAnswer | undefined {
    const t = this.#tombstones.get(key);
    return t === undefined || t.until <= now ? undefined : t.answer;
  }

  /** Forgets every pending request (the desk is closing) and returns them. */
  clear(): P[] {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    this.#perInvite.clear();
    return all;
  }
}
