// The drop summary of SessionOptions.logger (src/log.ts): whatever the rate and timing of dropped frames,
// every drop is counted once, by its code, and summary lines are at least DROP_LOG_INTERVAL_MS apart.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DROP_LOG_INTERVAL_MS, SessionLog, type SessionLogEvent } from '../src/log.js';
import type { ErrorCode } from '../src/errors.js';

const codes: ErrorCode[] = ['E_AUTH_FAILED', 'E_FRAME_MALFORMED', 'E_STALE', 'E_VERSION', 'E_UNKNOWN_SENDER'];

describe('SessionLog drop summaries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('count every drop once and log at most one line per interval', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ code: fc.constantFrom(...codes), waitMs: fc.oneof(fc.constant(0), fc.nat(50), fc.nat(3 * DROP_LOG_INTERVAL_MS)) }), { maxLength: 300 }),
        (drops) => {
          const lines: { at: number; e: SessionLogEvent }[] = [];
          const log = new SessionLog((e) => lines.push({ at: Date.now(), e }));
          const expected = new Map<string, number>();
          for (const d of drops) {
            vi.advanceTimersByTime(d.waitMs);
            log.dropped(d.code);
            expected.set(d.code, (expected.get(d.code) ?? 0) + 1);
          }
          vi.advanceTimersByTime(DROP_LOG_INTERVAL_MS * 2);
          expect(vi.getTimerCount(), 'no timer left once drops stop').toBe(0);
          for (let i = 1; i < lines.length; i++) expect(lines[i]!.at - lines[i - 1]!.at).toBeGreaterThanOrEqual(DROP_LOG_INTERVAL_MS);
          const got = new Map<string, number>();
          let total = 0;
          for (const { e } of lines) {
            expect(e).toMatchObject({ level: 'warn', message: 'frames dropped' });
            const { total: t, ...byCode } = e.fields as Record<string, number>;
            expect(Object.values(byCode).reduce((a, b) => a + b, 0)).toBe(t);
            total += t!;
            for (const [c, n] of Object.entries(byCode)) got.set(c, (got.get(c) ?? 0) + n);
          }
          expect(total).toBe(drops.length);
          expect(got).toEqual(expected);
          log.close();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('close() logs what is pending and clears its timer', () => {
    const lines: SessionLogEvent[] = [];
    const log = new SessionLog((e) => lines.push(e));
    log.dropped('E_STALE');
    log.dropped('E_STALE');
    log.dropped('E_VERSION');
    expect(lines).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1);
    log.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(lines.map((e) => e.fields)).toEqual([{ total: 1, E_STALE: 1 }, { total: 2, E_STALE: 1, E_VERSION: 1 }]);
    vi.advanceTimersByTime(DROP_LOG_INTERVAL_MS * 3);
    expect(lines).toHaveLength(2);
  });

  it('costs nothing without a logger: no timer, no line', () => {
    const log = new SessionLog(undefined);
    for (let i = 0; i < 1000; i++) log.dropped('E_AUTH_FAILED');
    expect(vi.getTimerCount()).toBe(0);
    log.close();
  });
});
