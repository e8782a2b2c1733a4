/**
 * Delivery checks (docs/ADAPTERS.md §1-§2): exact bytes, topic isolation, bursts, self-echo, unsubscribe.
 * Each check creates its own transports with options.create() and closes them when done.
 */
import fc from 'fast-check';
import { toHex } from '@sealsig/core';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ConformanceError, Inbox, check, equalBytes, inboxTopic, randomBytes, randomTopic, sleep, withTransports } from './helpers.js';

/** Arbitrary frames: small ones with fast-check's own bytes, and any size up to `max` filled at random. */
function frames(max: number): fc.Arbitrary<Uint8Array> {
  const small = fc.uint8Array({ minLength: 0, maxLength: Math.min(max, 64) });
  const sized = fc.integer({ min: 0, max }).map((n) => randomBytes(n));
  return fc.oneof(small, sized);
}

/**
 * Frames arrive byte-exact between two instances: the empty frame, the largest property size, and a
 * fast-check property over contents and sizes in between.
 */
export async function checkByteExact(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const max = Math.min(o.maxPropertyBytes ?? 64 * 1024, a!.maxFrameBytes);
    const topic = randomTopic();
    const inbox = new Inbox();
    await b!.subscribe(topic, inbox.handler);
    const roundTrip = async (frame: Uint8Array): Promise<void> => {
      const expected = frame.slice(); // the adapter must not modify the caller's array either
      const from = inbox.count;
      await a!.publish(topic, frame);
      await inbox.waitForFrame(expected, from, o.deliveryTimeoutMs, o.quietMs, `a frame of ${frame.length} bytes`);
      check(equalBytes(frame, expected), 'publish() modified the array it was given');
    };
    await roundTrip(new Uint8Array(0));
    await roundTrip(randomBytes(max));
    await fc.assert(fc.asyncProperty(frames(max), roundTrip), {
      numRuns: o.numRuns,
      endOnFailure: true, // a failing run may cost a delivery timeout; don't multiply it by shrinking
      examples: [[new Uint8Array([0])], [new Uint8Array(max).fill(0xff)]],
    });
  });
}

/** A subscriber of one topic never sees another topic's frames, even of a topic one character away. */
export async function checkTopicIsolation(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const base = randomTopic();
    const last = base.at(-1)!;
    const topics = [
      base,
      base.slice(0, -1) + (last === 'A' ? 'B' : 'A'), // one character away
      swapCase(base) === base ? base.slice(0, -1) + (last === '_' ? '-' : '_') : swapCase(base), // differs in case only
      base.slice(0, 11), // a prefix
    ];
    check(new Set(topics).size === topics.length, 'internal: topics must differ');
    const inboxes = topics.map(() => new Inbox());
    for (let i = 0; i < topics.length; i++) await a!.subscribe(topics[i]!, inboxes[i]!.handler);
    const perTopic = 5;
    // Every frame names its topic in its first byte. The first topic's frames go last: once they all
    // arrived, the others had their chance to leak.
    for (let i = topics.length - 1; i >= 0; i--) {
      for (let k = 0; k < perTopic; k++) await b!.publish(topics[i]!, new Uint8Array([i, k, ...randomBytes(30)]));
    }
    for (let i = 0; i < topics.length; i++) await inboxes[i]!.waitForCount(perTopic, o.deliveryTimeoutMs, `topic #${i} got its ${perTopic} frames`);
    await sleep(o.quietMs);
    for (let i = 0; i < topics.length; i++) {
      const stray = inboxes[i]!.frames.find((f) => f[0] !== i);
      if (stray) throw new ConformanceError(`a subscriber of topic "${topics[i]}" received a frame published on "${topics[stray[0]!]}"`);
      check(inboxes[i]!.count === perTopic, `topic "${topics[i]}" delivered ${inboxes[i]!.count} frames instead of ${perTopic}`);
    }
  });
}

/**
 * One instance subscribed to several topics at once, shaped as core v2 shapes a page's topics: two
 * sessions' route tags (22 characters), three inbox topics of the first and one of the second (route tag,
 * "_", 22 more characters: 45 in all; two of them one character apart). Another instance publishes on
 * each, and on a sibling inbox of the first route tag that nobody subscribed to (one character from the
 * others). Every frame arrives on its own topic's subscription only, nothing crosses topics (in
 * particular, from an inbox to its route tag or back), and once one topic is unsubscribed the others keep
 * delivering.
 */
export async function checkMultiTopic(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const first = randomTopic();
    const second = randomTopic();
    const inbox = inboxTopic(first);
    // Two inboxes and the sibling differ from `inbox` in the last character only: an adapter that cuts or
    // hashes long topics badly makes them collide.
    const topics = [first, inbox, lastCharOther(inbox, 0), second, inboxTopic(second), inboxTopic(first)];
    const sibling = lastCharOther(inbox, 1); // published on, never subscribed
    check(new Set([...topics, sibling]).size === topics.length + 1, 'internal: topics must differ');
    const inboxes = topics.map(() => new Inbox());
    const unsubscribes: (() => Promise<void>)[] = [];
    for (let i = 0; i < topics.length; i++) unsubscribes.push(await a!.subscribe(topics[i]!, inboxes[i]!.handler));
    // A second subscription to one of the topics, removed at once: the topic's first one must stay.
    const removed = new Inbox();
    await (await a!.subscribe(topics[2]!, removed.handler))();

    const perTopic = 3;
    /** `perTopic` frames on the sibling, then on each topic of `order`; a frame starts [topic index, round, k]. */
    const publishRound = async (round: number, order: number[]) => {
      for (let k = 0; k < perTopic; k++) await b!.publish(sibling, new Uint8Array([SIBLING, round, k, ...randomBytes(24)]));
      for (const i of order) for (let k = 0; k < perTopic; k++) await b!.publish(topics[i]!, new Uint8Array([i, round, k, ...randomBytes(24)]));
    };
    const name = (i: number) => (i === SIBLING ? `the unsubscribed sibling inbox "${sibling}"` : `"${topics[i]}"`);
    const expectRound = (round: number, live: (i: number) => boolean) => {
      for (let i = 0; i < topics.length; i++) {
        const frames = inboxes[i]!.frames.filter((f) => f[1] === round);
        const stray = frames.find((f) => f[0] !== i);
        if (stray) throw new ConformanceError(`a subscriber of "${topics[i]}" received a frame published on ${name(stray[0]!)}`);
        const want = live(i) ? perTopic : 0;
        check(frames.length === want, `topic "${topics[i]}" delivered ${frames.length} frames of round ${round} instead of ${want}`);
      }
    };
    const waitRound = async (live: (i: number) => boolean, counts: number[], what: string) => {
      for (let i = 0; i < topics.length; i++) {
        if (live(i)) await inboxes[i]!.waitForCount(counts[i]! + perTopic, o.deliveryTimeoutMs, `${what}: "${topics[i]}" got its ${perTopic} frames`);
      }
      await sleep(o.quietMs);
    };

    // Round 0: every topic delivers its own frames. The route tags' frames go last: once they arrived,
    // the inboxes' and the sibling's frames had their chance to leak into them.
    await publishRound(0, [5, 4, 2, 1, 3, 0]);
    await waitRound(() => true, topics.map(() => 0), 'with 6 topics subscribed');
    expectRound(0, () => true);
    check(removed.count === 0, 'a subscription removed before anything was published received a frame');

    // Round 1: one inbox unsubscribed; the others, its route tag and its sibling inboxes included, keep
    // delivering. Its own frames go first, so the others' arrival gives them time to show up.
    const gone = 1;
    await unsubscribes[gone]!();
    const counts = inboxes.map((x) => x.count);
    await publishRound(1, [gone, 5, 4, 2, 3, 0]);
    await waitRound((i) => i !== gone, counts, `after "${topics[gone]}" was unsubscribed`);
    expectRound(1, (i) => i !== gone);
  });
}

/** `topic` with its last character replaced by the n-th character of "ABC" other than the current one. */
function lastCharOther(topic: string, n: number): string {
  const choices = [...'ABC'].filter((c) => c !== topic.at(-1));
  return topic.slice(0, -1) + choices[n]!;
}

/** Marks the frames published on the sibling inbox (topic indexes are small). */
const SIBLING = 255;

function swapCase(s: string): string {
  return [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

/** A burst of frames published back to back (no await in between) all arrive: count and set equality. */
export async function checkBurst(options: ConformanceOptions, size = 1000): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const topic = randomTopic();
    const inbox = new Inbox();
    await b!.subscribe(topic, inbox.handler);
    const sent = new Map<string, number>();
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const frame = randomBytes(48);
      new DataView(frame.buffer).setUint32(0, i);
      sent.set(key(frame), i);
      publishes.push(a!.publish(topic, frame));
    }
    await Promise.all(publishes);
    await inbox.waitForCount(size, Math.max(o.deliveryTimeoutMs, size * 10), `all ${size} frames of a burst arrived`).catch((e: unknown) => {
      throw new ConformanceError(`${(e as Error).message}; missing e.g. frame #${[...sent.values()].find((i) => !inbox.frames.some((f) => sent.get(key(f)) === i))}`);
    });
    await sleep(o.quietMs);
    const seen = new Set<string>();
    for (const f of inbox.frames) {
      const k = key(f);
      check(sent.has(k), `a frame that was never published arrived (${f.length} bytes)`);
      check(!seen.has(k), `frame #${sent.get(k)} arrived twice`);
      seen.add(k);
    }
    check(seen.size === size, `${seen.size} of ${size} frames arrived`);
  });
}

const key = toHex;

/** A publisher subscribed to its own topic receives its own frames exactly when options.selfEcho says so. */
export async function checkSelfEcho(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const topic = randomTopic();
    const mine = new Inbox();
    const theirs = new Inbox();
    await a!.subscribe(topic, mine.handler);
    await b!.subscribe(topic, theirs.handler);
    const own = randomBytes(40);
    await a!.publish(topic, own);
    await theirs.waitForFrame(own, 0, o.deliveryTimeoutMs, o.quietMs, 'the other instance received the frame');
    if (o.selfEcho) {
      await mine.waitForFrame(own, 0, o.deliveryTimeoutMs, o.quietMs, 'selfEcho is true: the publisher received its own frame');
    } else {
      const other = randomBytes(40);
      await b!.publish(topic, other);
      await mine.waitForFrame(other, 0, o.deliveryTimeoutMs, o.deliveryTimeoutMs, "the publisher received the other instance's frame");
      await sleep(o.quietMs);
      check(!mine.frames.some((f) => equalBytes(f, own)), 'selfEcho is false, but the publisher received its own frame');
    }
  });
}

/**
 * Unsubscribe stops delivery to that subscription only (two subscriptions to one topic are independent),
 * a second call is harmless, and the topic can be subscribed again.
 */
export async function checkUnsubscribe(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  await withTransports(o, 2, async ([a, b]) => {
    const topic = randomTopic();
    const first = new Inbox();
    const second = new Inbox();
    const unsubFirst = await a!.subscribe(topic, first.handler);
    const unsubSecond = await a!.subscribe(topic, second.handler);
    const one = randomBytes(20);
    await b!.publish(topic, one);
    await first.waitForFrame(one, 0, o.deliveryTimeoutMs, o.quietMs, 'the first subscription received a frame');
    await second.waitForFrame(one, 0, o.deliveryTimeoutMs, o.quietMs, 'the second subscription received a frame');

    await unsubFirst();
    const two = randomBytes(20);
    await b!.publish(topic, two);
    await second.waitForFrame(two, 1, o.deliveryTimeoutMs, o.quietMs, 'the remaining subscription still receives frames');
    await sleep(o.quietMs);
    check(first.count === 1, 'a frame arrived after its subscription was removed');

    await unsubFirst(); // harmless
    await unsubSecond();
    await unsubSecond();
    const third = new Inbox();
    await a!.subscribe(topic, third.handler);
    const three = randomBytes(20);
    await b!.publish(topic, three);
    await third.waitForFrame(three, 0, o.deliveryTimeoutMs, o.quietMs, 'a new subscription to the topic receives frames');
    await sleep(o.quietMs);
    check(first.count === 1 && second.count === 2, 'a removed subscription received a frame after the topic was subscribed again');
  });
}
