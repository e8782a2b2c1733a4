/**
 * Lifecycle checks (docs/ADAPTERS.md §1): close() releases everything and is idempotent; an adapter with
 * a connection reconnects by itself and restores its subscriptions.
 */
import type { Transport, TransportState } from '@sealsig/core';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ConformanceError, Inbox, check, expectRejects, randomBytes, randomTopic, sleep, waitOpen, waitUntil, withTransports } from './helpers.js';

/**
 * After close(): state 'closed', state listeners told 'closed', publish/subscribe reject with E_CLOSED,
 * close() and an old unsubscribe function are harmless, and openResources() is back to its value before
 * the transport was created.
 */
export async function checkClose(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  // Resources of earlier tests may still be closing (a server notices a disconnect late): take the
  // baseline once the count stopped moving.
  const before = o.openResources ? await steady(o.openResources, o.quietMs, o.deliveryTimeoutMs) : undefined;
  const t = await o.create();
  try {
    check(t.state !== 'closed', 'a new transport reports state closed');
    const states: TransportState[] = [];
    const removeListener = t.onStateChange((s) => states.push(s));
    check(typeof removeListener === 'function', 'onStateChange() must return a function that removes the listener');
    const topic = randomTopic();
    const unsubscribe = await t.subscribe(topic, () => undefined);
    await t.publish(topic, randomBytes(10));

    await t.close();
    const after = stateOf(t); // read again: close() changed it
    check(after === 'closed', `after close() the state is '${after}', not 'closed'`);
    check(states.at(-1) === 'closed', `state listeners were told [${states.join(', ')}], ending without 'closed'`);
    await expectRejects('publish() after close()', () => t.publish(topic, new Uint8Array(1)), 'E_CLOSED');
    await expectRejects('subscribe() after close()', () => t.subscribe(topic, () => undefined), 'E_CLOSED');
    await t.close();
    await unsubscribe().catch((e: unknown) => {
      throw new ConformanceError(`an unsubscribe function called after close() rejected: ${String(e)}`);
    });
    removeListener();
    removeListener();
    check(stateOf(t) === 'closed', 'a second close() changed the state');
    check(states.filter((s) => s === 'closed').length === 1, `state listeners were told 'closed' more than once: [${states.join(', ')}]`);
  } finally {
    await t.close();
  }
  if (o.openResources && before !== undefined) {
    await waitUntil(() => o.openResources!() <= before, o.deliveryTimeoutMs, `openResources() is back to ${before} after close()`).catch((e: unknown) => {
      throw new ConformanceError(`${(e as Error).message}; now ${o.openResources!()}`);
    });
  }
}

/** The value of `count()` once it stayed the same for `quietMs` (or after `timeoutMs`, the last value). */
async function steady(count: () => number, quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = count();
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await sleep(5);
    const now = count();
    if (now !== value) (value = now), (since = Date.now());
  }
  return value;
}

/** The current state, typed wide: TypeScript would otherwise keep a narrowing across close(). */
const stateOf = (t: Transport): TransportState => t.state;

/**
 * After options.disrupt(t), t reports a state other than 'open', then 'open' again by itself, and frames
 * published afterwards flow both ways on the subscriptions made before the disruption.
 */
export async function checkReconnect(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  if (!o.disrupt) throw new ConformanceError('checkReconnect needs options.disrupt');
  await withTransports(o, 2, async ([t, other]) => {
    const topic = randomTopic();
    const atT = new Inbox();
    const atOther = new Inbox();
    await t!.subscribe(topic, atT.handler);
    await other!.subscribe(topic, atOther.handler);
    await waitOpen(t!, o.deliveryTimeoutMs);
    const states: TransportState[] = [];
    t!.onStateChange((s) => states.push(s));

    await o.disrupt!(t!);
    await waitUntil(() => states.some((s) => s !== 'open'), o.deliveryTimeoutMs, `the disrupted transport reports a state other than 'open' (states: [${states.join(', ')}])`);
    check(!states.includes('closed'), "a disrupted transport must reconnect, not report 'closed'");
    const reconnectMs = Math.max(o.deliveryTimeoutMs, 15_000);
    await waitUntil(() => t!.state === 'open' && states.at(-1) === 'open', reconnectMs, `the transport is 'open' again (states: [${states.join(', ')}])`);
    await waitOpen(other!, reconnectMs);

    const toT = randomBytes(32);
    await other!.publish(topic, toT);
    await atT.waitForFrame(toT, 0, o.deliveryTimeoutMs, o.quietMs, 'after reconnecting, a subscription made before the disruption receives frames');
    const fromT = randomBytes(32);
    await t!.publish(topic, fromT);
    await atOther.waitForFrame(fromT, 0, o.deliveryTimeoutMs, o.quietMs, 'after reconnecting, frames published by the transport arrive');
  });
}
