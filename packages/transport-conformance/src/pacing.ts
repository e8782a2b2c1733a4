/**
 * The pacing check (docs/ADAPTERS.md §1, the optional `pacing` capability), for adapters whose transports
 * declare it: `backlog` counts frames held back and drained() resolves once none is; a burst larger than the
 * service's own burst arrives whole, once each; the service refuses none of it for its rate (when the options
 * say how to ask it: rateRefusals); a paced caller (one that publishes while backlog is 0 and otherwise waits
 * for drained()) sending many large frames never meets E_QUEUE_FULL; and close() rejects drained().
 */
import { toHex, type Transport } from '@sealsig/core';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ConformanceError, Inbox, check, expectRejects, randomBytes, randomTopic, sleep, withTransports } from './helpers.js';

/** Whether the adapter's transports declare the pacing capability (the suite runs checkPacing only then). */
export async function declaresPacing(options: ConformanceOptions): Promise<boolean> {
  const o = resolveOptions(options);
  return withTransports(o, 1, async ([t]) => t!.pacing !== undefined);
}

/** Large frames, many MB of them: publish() never rejects E_QUEUE_FULL for a caller that waits for drained() while frames are held back. */
const LARGE_FRAMES = 64;

async function pacedLargeFrames(a: Transport, b: Transport): Promise<void> {
  const pacing = a.pacing!;
  const topic = randomTopic();
  const inbox = new Inbox();
  await b.subscribe(topic, inbox.handler);
  await pacing.drained();
  const bytes = Math.min(a.maxFrameBytes, 60_000);
  for (let i = 0; i < LARGE_FRAMES; i++) {
    if (pacing.backlog > 0) await pacing.drained();
    const frame = randomBytes(bytes);
    new DataView(frame.buffer).setUint32(0, i);
    try {
      await a.publish(topic, frame);
    } catch (e) {
      throw new ConformanceError(`a paced caller's frame ${i + 1} of ${LARGE_FRAMES} (${bytes} bytes each) was refused: ${(e as Error).message}`);
    }
  }
  await pacing.drained();
  await inbox.waitForCount(LARGE_FRAMES, 30_000, `all ${LARGE_FRAMES} large paced frames arrived`);
}

/** The pacing check (see the module comment); rejects with a ConformanceError, or if the transport declares no pacing. */
export async function checkPacing(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  const size = o.pacedBurst;
  await withTransports(o, 2, async ([a, b]) => {
    const pacing = a!.pacing;
    if (pacing === undefined) throw new ConformanceError('the transport declares no pacing capability');
    const backlog = () => {
      const n = pacing.backlog;
      check(Number.isInteger(n) && n >= 0, `pacing.backlog is ${String(n)}, not a non-negative integer`);
      return n;
    };
    const topic = randomTopic();
    const inbox = new Inbox();
    await b!.subscribe(topic, inbox.handler);
    await pacing.drained(); // subscribe() resolved: whatever the adapter held for the connection went
    const refusedBefore = o.rateRefusals?.();
    const sent = new Set<string>();
    let most = 0;
    for (let i = 0; i < size; i++) {
      const frame = randomBytes(48);
      new DataView(frame.buffer).setUint32(0, i);
      sent.add(toHex(frame));
      await a!.publish(topic, frame);
      most = Math.max(most, backlog());
    }
    await pacing.drained();
    check(backlog() === 0, `drained() resolved with ${pacing.backlog} frames held back`);
    await inbox.waitForCount(size, Math.max(o.deliveryTimeoutMs, size * 20), `all ${size} frames of a paced burst arrived (at most ${most} were held back at once)`);
    await sleep(o.quietMs);
    if (refusedBefore !== undefined) {
      const refused = o.rateRefusals!() - refusedBefore;
      check(refused === 0, `the service refused ${refused} frames of a paced burst for their rate (${most} were held back at most)`);
    }
    const seen = new Set<string>();
    for (const f of inbox.frames) {
      const k = toHex(f);
      check(sent.has(k) && !seen.has(k), `a paced frame arrived twice, or one never published arrived`);
      seen.add(k);
    }
    check(seen.size === size, `${seen.size} of ${size} paced frames arrived`);
    await pacedLargeFrames(a!, b!);
    await a!.close();
    await expectRejects('pacing.drained() after close()', () => pacing.drained(), 'E_CLOSED');
  });
}
