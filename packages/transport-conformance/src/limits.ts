/**
 * Limits and misuse (docs/ADAPTERS.md §1, §3): oversize frames, and typed errors for bad arguments
 * (a SealsigError E_INVALID_ARGUMENT, never a TypeError from deep inside the adapter).
 */
import type { FrameHandler } from '@sealsig/core';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { Inbox, check, expectRejects, randomBytes, randomTopic, withTransports } from './helpers.js';

/**
 * oversize 'error': publishing maxFrameBytes + 1 bytes rejects with E_FRAME_TOO_LARGE.
 * oversize 'chunked': a frame of exactly maxFrameBytes arrives byte-exact.
 */
export async function checkOversize(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const max = a!.maxFrameBytes;
    check(Number.isSafeInteger(max) && max > 0, `maxFrameBytes is ${max}, not a positive integer`);
    const topic = randomTopic();
    if (o.oversize === 'error') {
      await expectRejects(`publish() of maxFrameBytes + 1 (${max + 1}) bytes`, () => a!.publish(topic, new Uint8Array(max + 1)), 'E_FRAME_TOO_LARGE');
      return;
    }
    const inbox = new Inbox();
    await b!.subscribe(topic, inbox.handler);
    const frame = randomBytes(max);
    await a!.publish(topic, frame);
    await inbox.waitForFrame(frame, 0, Math.max(o.deliveryTimeoutMs, 15_000), o.quietMs, `a frame of maxFrameBytes (${max}) bytes`);
  });
}

/** publish() with a non-Uint8Array, subscribe() with an empty topic or a non-function: E_INVALID_ARGUMENT. */
export async function checkInvalidArguments(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 1, async ([t]) => {
    const topic = randomTopic();
    const notFrames: [string, unknown][] = [
      ['a string', 'hello'],
      ['null', null],
      ['undefined', undefined],
      ['an array of numbers', [1, 2, 3]],
      ['an ArrayBuffer', new ArrayBuffer(4)],
      ['a DataView', new DataView(new ArrayBuffer(4))],
    ];
    for (const [what, value] of notFrames) {
      await expectRejects(`publish() with ${what} as the frame`, () => t!.publish(topic, value as Uint8Array), 'E_INVALID_ARGUMENT');
    }
    const noop: FrameHandler = () => undefined;
    const badTopics: [string, unknown][] = [
      ['an empty topic', ''],
      ['a number as the topic', 42],
      ['undefined as the topic', undefined],
    ];
    for (const [what, value] of badTopics) {
      await expectRejects(`subscribe() with ${what}`, () => t!.subscribe(value as string, noop), 'E_INVALID_ARGUMENT');
    }
    const badHandlers: [string, unknown][] = [
      ['a string', 'handler'],
      ['undefined', undefined],
      ['an object', {}],
    ];
    for (const [what, value] of badHandlers) {
      await expectRejects(`subscribe() with ${what} as the handler`, () => t!.subscribe(topic, value as FrameHandler), 'E_INVALID_ARGUMENT');
    }
    // The transport still works after all that misuse.
    const inbox = new Inbox();
    await t!.subscribe(topic, inbox.handler);
    check(t!.state !== 'closed', 'misuse closed the transport');
  });
}
