/**
 * Limits per member id (docs/PROTOCOL.md §6.4, §7.7): what one member may make this member do, whichever of
 * its instances asks. A member can draw a new instance id for every hello, so a limit kept per instance
 * would limit nothing; these records outlive the member's instances and are forgotten only when no instance
 * of the member is live or remembered as departed (presence.ts).
 *
 * - admissions: a new instance of a member is admitted at most once per MIN_ADMIT_INTERVAL_MS; a hello over
 *   that rate waits (the newest one only) until the interval has passed, so a genuine reload is admitted
 *   within the interval and a member cycling instance ids gets one admission per interval;
 * - hello replies: at most one per MIN_REPLY_INTERVAL_MS;
 * - handshake inits and init requests: one InitBudget (init-budget.ts).
 */
import { InitBudget } from './init-budget.js';

/** §6.4 A new instance of one member is admitted at most once in this interval. */
export const MIN_ADMIT_INTERVAL_MS = 1_000;
/** §6.4 A member's hellos asking for a reply are answered at most once in this interval. */
export const MIN_REPLY_INTERVAL_MS = 1_000;

export class MemberLimits {
  /** When a new instance of the member was last admitted (this member's clock). */
  lastAdmit = Number.NEGATIVE_INFINITY;
  /** When a hello of the member was last answered. */
  lastReply = Number.NEGATIVE_INFINITY;
  /** The newest hello over the admission rate, a copy of its frame, and the timer that reads it. */
  deferredHello: Uint8Array | undefined;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Handshake inits and init requests the member may cause (§7.7). */
  readonly initBudget: InitBudget;
  /** Forget the record after this time once no instance of the member is live (presence.ts sets it). */
  until = Number.POSITIVE_INFINITY;

  constructor(handshakeRetryMs: number, now: number) {
    this.initBudget = new InitBudget(handshakeRetryMs, now);
  }

  /** Milliseconds until a new instance may be admitted (0: now). */
  admitWait(now: number): number {
    return Math.max(0, this.lastAdmit + MIN_ADMIT_INTERVAL_MS - now);
  }

  /** Whether a hello asking for a reply may be answered now; if so, the reply is counted. */
  takeReply(now: number): boolean {
    if (now - this.lastReply < MIN_REPLY_INTERVAL_MS) return false;
    this.lastReply = now;
    return true;
  }

  /** Stops the timers and drops what waits. */
  clear(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.deferredHello = undefined;
    this.initBudget.clear();
  }
}
