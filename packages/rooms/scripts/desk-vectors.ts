/**
 * Scenario vectors of the lobby desk's pool (docs/PROTOCOL.md §R3 "The desk's pool"), for rooms.json
 * `rules.desk`: each scenario is a sequence of events at given times (ms) against a fresh desk with the
 * default bounds, and the outcome of each. The desk is the reference DeskPool (src/desk-pool.ts) driven as the
 * lobby desk drives it: a request is answered from its pending record or tombstone if there is one, else its
 * invite must have room (listed keys always do); a decision moves it to a tombstone.
 *
 *   outcome = "pending" (a new pending record) | "busy" (no room; nothing kept) | "refreshed" (a retransmission
 *             of a pending request) | "stored" (answered from the tombstone) | "decided" | "swept: <n>"
 */
import { DESK_LIMITS, DeskPool, type Pending } from '../src/desk-pool.js';

/** One event: a joiner's request (or its retransmission), a decision, or the desk's sweep. */
export interface DeskEvent {
  at_ms: number;
  event: 'request' | 'decide' | 'sweep';
  joiner?: string;
  /** The verified invite id (any label here), or "members" for a key the state lists. */
  invite?: string;
  nonce?: string;
}

/** Runs a scenario through the reference pool: the outcome of each event. */
export function runDesk(events: DeskEvent[]): string[] {
  const pool = new DeskPool<Pending & { nonce: string }>();
  const out: string[] = [];
  for (const e of events) {
    if (e.event === 'sweep') {
      out.push(`swept: ${pool.sweep(e.at_ms).length}`);
      continue;
    }
    pool.sweep(e.at_ms); // the desk sweeps on every message
    const key = `${e.joiner}/${e.nonce}`;
    const r = pool.get(e.joiner!);
    if (e.event === 'decide') {
      if (r === undefined || r.nonce !== e.nonce) throw new Error(`desk vectors: nothing pending to decide for ${key}`);
      pool.remove(e.joiner!);
      pool.settle(key, { accepted: false, code: 'rejected', reason: 'no' }, e.at_ms);
      out.push('decided');
      continue;
    }
    if (r !== undefined && r.nonce === e.nonce) {
      pool.heard(r, e.at_ms);
      out.push('refreshed');
    } else if (pool.answer(key, e.at_ms) !== undefined) out.push('stored');
    else {
      if (r !== undefined) pool.remove(e.joiner!);
      const listed = e.invite === 'members';
      if (pool.room(e.invite!, listed) !== 'ok') out.push('busy');
      else {
        pool.add({ memberId: e.joiner!, invite: e.invite!, heardAt: e.at_ms, nonce: e.nonce! });
        out.push('pending');
      }
    }
  }
  return out;
}

const req = (at_ms: number, joiner: string, invite: string, nonce = 'n1'): DeskEvent => ({ at_ms, event: 'request', joiner, invite, nonce });

/** The scenarios and their outcomes (rooms.json rules.desk). */
export function deskVectors(): Record<string, unknown> {
  const flood = Array.from({ length: 9 }, (_, i) => req(0, `sybil-${i}`, 'A'));
  const scenarios: { name: string; events: DeskEvent[] }[] = [
    { name: 'nine requests under invite A from nine lobby identities: eight pending, the ninth busy; invite B and a listed key still get room', events: [...flood, req(0, 'bob', 'B'), req(0, 'member', 'members')] },
    {
      name: 'eight invites fill the pool of 64; a ninth invite is busy, a listed key is not',
      events: [...Array.from({ length: 64 }, (_, i) => req(0, `j${i}`, `I${i % 8}`)), req(0, 'late', 'I8'), req(0, 'member', 'members')],
    },
    {
      name: 'a pending request not retransmitted for 10 s is swept; one retransmitted every second is kept; the freed slot is taken',
      events: [
        ...Array.from({ length: 8 }, (_, i) => req(0, `silent-${i}`, 'A')),
        req(1_000, 'late', 'A'),
        { at_ms: 9_999, event: 'sweep' },
        { at_ms: 10_000, event: 'sweep' },
        req(10_000, 'late', 'A'),
        req(11_000, 'late', 'A'),
        { at_ms: 19_999, event: 'sweep' },
        { at_ms: 21_000, event: 'sweep' },
      ],
    },
    {
      name: 'a decided request leaves the pool at once; its retransmission gets the stored answer until 150 s after the decision, then is a new request',
      events: [
        ...Array.from({ length: 8 }, (_, i) => req(0, `j${i}`, 'A')),
        { at_ms: 500, event: 'decide', joiner: 'j0', nonce: 'n1' },
        req(600, 'other', 'A'),
        req(149_000, 'j0', 'A'),
        req(150_500, 'j0', 'A'),
      ],
    },
    { name: 'a new nonce replaces the joiner\'s pending request (the count under its invite stays one)', events: [req(0, 'bob', 'A', 'n1'), req(100, 'bob', 'A', 'n2'), req(200, 'bob', 'A', 'n1')] },
  ];
  return {
    description:
      'The lobby desk\'s pool (§R3), default bounds: `limits`. Each scenario starts from an empty desk; events in order at `at_ms` (ms): a joiner\'s join request (`request`: joiner, invite, nonce; ' +
      'a retransmission has the same nonce), the moderator\'s decision (`decide`), or the desk\'s periodic `sweep` (the desk also sweeps before every event). ' +
      'A request is answered from its pending record ("refreshed") or its tombstone ("stored") if there is one; else it needs room: at most max_pending_per_invite pending under its invite ' +
      'and max_pending in all, a listed key ("members") always fits ("pending", or "busy": nothing kept). A pending request not heard for idle_ms is swept ("swept: n" counts them); ' +
      'a decided one leaves the pool and its tombstone answers for keep_decided_ms. outcomes[i] is the outcome of events[i].',
    limits: {
      max_pending: DESK_LIMITS.maxPending,
      max_pending_per_invite: DESK_LIMITS.maxPendingPerInvite,
      idle_ms: DESK_LIMITS.idleMs,
      keep_decided_ms: DESK_LIMITS.keepDecidedMs,
      max_tombstones: DESK_LIMITS.maxTombstones,
    },
    scenarios: scenarios.map((s) => ({ ...s, outcomes: runDesk(s.events) })),
  };
}
