/**
 * transportConformance(): registers the whole suite as one vitest describe block. Every test calls one of
 * the exported check functions, so an adapter's own tests can also run single checks.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkBurst, checkByteExact, checkMultiTopic, checkSelfEcho, checkTopicIsolation, checkUnsubscribe } from './delivery.js';
import { checkClose, checkReconnect } from './lifecycle.js';
import { checkInvalidArguments, checkOversize } from './limits.js';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { checkPacing, declaresPacing } from './pacing.js';
import { checkSessionEndToEnd } from './session.js';

/** Registers the conformance suite for an adapter as a vitest describe block named \`name\` (docs/ADAPTERS.md §5). */
export function transportConformance(name: string, options: ConformanceOptions): void {
  const o = resolveOptions(options);
  // Generous per-test limits: a test waits for several deliveries, each bounded by deliveryTimeoutMs.
  const timeout = Math.max(60_000, o.deliveryTimeoutMs * 8);
  describe(name, () => {
    beforeAll(async () => {
      await options.setup?.();
    }, timeout);
    afterAll(async () => {
      await options.teardown?.();
    }, timeout);

    it('delivers frames byte-exact between two instances (0 bytes to maxPropertyBytes)', () => checkByteExact(options), timeout);
    it('keeps topics isolated', () => checkTopicIsolation(options), timeout);
    it('carries several topics at once on one instance (a route tag and its 45-character inboxes); unsubscribing one leaves the others', () => checkMultiTopic(options), timeout);
    it('delivers a burst of 1,000 frames published back to back', () => checkBurst(options), timeout);
    it(`${o.selfEcho ? 'echoes' : 'does not echo'} a publisher's own frames (selfEcho: ${o.selfEcho})`, () => checkSelfEcho(options), timeout);
    it('stops delivery on unsubscribe; a second unsubscribe is harmless', () => checkUnsubscribe(options), timeout);
    it('releases everything on close(); later calls reject with E_CLOSED', () => checkClose(options), timeout);
    if (options.disrupt) {
      it('reconnects after a disruption and restores its subscriptions', () => checkReconnect(options), timeout);
    } else {
      it.skip('reconnects after a disruption (skipped: no disrupt option, the adapter has no connection to break)', () => undefined);
    }
    it(
      o.oversize === 'error' ? 'rejects a frame of maxFrameBytes + 1 with E_FRAME_TOO_LARGE' : 'carries a frame of exactly maxFrameBytes byte-exact (chunked)',
      () => checkOversize(options),
      timeout,
    );
    it('rejects misuse with E_INVALID_ARGUMENT', () => checkInvalidArguments(options), timeout);
    it('carries a sealsig session end to end; rejects a tampered frame and drops a replayed one', () => checkSessionEndToEnd(options), timeout);
    it(`paces a burst of ${o.pacedBurst} frames, if it declares pacing: all arrive, none refused for their rate, drained() resolves, a paced caller's 64 large frames meet no E_QUEUE_FULL, close() rejects it`, async (ctx) => {
      if (!(await declaresPacing(options))) return ctx.skip();
      await checkPacing(options);
    }, timeout);
  });
}
