/**
 * Opt-in debug logging (SessionOptions.logger). A log event carries an event name and public facts only:
 * member ids, epochs, counts, error codes, leave reasons. Never a key, the session id, a topic (the route tag
 * and inbox topics are derived from the session id), frame bytes or message content.
 */
import type { ErrorCode } from './errors.js';

/** How much a log event matters: 'debug' for routine steps, 'info' for membership changes, 'warn' for losses. */
export type SessionLogLevel = 'debug' | 'info' | 'warn';

/** One log event of a session: a fixed message (the event name) and its public fields. */
export interface SessionLogEvent {
  /** How much the event matters. */
  level: SessionLogLevel;
  /** The event name: 'joined', 'peer joined', 'peer left', 'handshake started', 'handshake answered', 'handshake finished', 'handshake failed', 'gap', 'epoch installed', 'member expelled', 'frames dropped', 'closed'. */
  message: string;
  /** Public facts about the event: member ids (`peer`, `member`), `reason`, `role`, `epoch`, counts, and, in 'frames dropped', one count per error code. */
  fields?: Record<string, string | number | boolean>;
}

/** Receives a session's log events (SessionOptions.logger). It is called synchronously; what it throws is ignored. */
export type SessionLogger = (event: SessionLogEvent) => void;

/** Drop summaries: at most one 'frames dropped' line per this interval, whatever the rate of bad frames. */
export const DROP_LOG_INTERVAL_MS = 1_000;

/** A session's logging: a no-op without a logger; frame drops are counted and summarised (§8.2 drops are silent on the wire). */
export class SessionLog {
  readonly #logger: SessionLogger | undefined;
  readonly #intervalMs: number;
  #pending = new Map<ErrorCode, number>();
  #pendingTotal = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: SessionLogger | undefined, intervalMs = DROP_LOG_INTERVAL_MS) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  log(level: SessionLogLevel, message: string, fields?: Record<string, string | number | boolean>): void {
    const logger = this.#logger;
    if (logger === undefined) return;
    try {
      logger(fields === undefined ? { level, message } : { level, message, fields });
    } catch {
      // A logger must not break frame handling.
    }
  }

  /**
   * Counts a dropped frame. The first drop after a quiet interval is logged at once; later ones are summed
   * and logged when the interval ends: at most one line per interval.
   */
  dropped(code: ErrorCode): void {
    if (this.#logger === undefined) return;
    this.#pending.set(code, (this.#pending.get(code) ?? 0) + 1);
    this.#pendingTotal++;
    if (this.#timer !== undefined) return;
    this.#flush();
    this.#arm();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#pendingTotal === 0) return;
      this.#flush();
      this.#arm();
    }, this.#intervalMs);
    (this.#timer as { unref?: () => void }).unref?.(); // browsers have no unref
  }

  #flush(): void {
    if (this.#pendingTotal === 0) return;
    const fields: Record<string, number> = { total: this.#pendingTotal };
    for (const [code, n] of [...this.#pending].sort(([a], [b]) => (a < b ? -1 : 1))) fields[code] = n;
    this.#pending.clear();
    this.#pendingTotal = 0;
    this.log('warn', 'frames dropped', fields);
  }

  /** Logs the drops not yet summarised and stops the timer (on close). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
  }
}
