/**
 * Behaviour specific to the Firebase transport, against the real `firebase` 12 SDK and a local
 * firebase-server: the history window, TTL removal of a writer's frames, presence with onDisconnect,
 * connection state, dropped malformed children, and the bounded write queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goOffline, goOnline, onValue, push, ref } from 'firebase/database';
import { SealsigError, toBase64Url } from '@sealsig/core';
import type { TransportState } from '@sealsig/core';
import { Inbox, randomBytes, randomTopic, sleep, waitUntil } from '@sealsig/transport-conformance';
import { createFirebaseTransport } from '../src/index.js';
import { FirebaseHarness } from './harness.js';
import type { Client } from './harness.js';

const harness = new FirebaseHarness();
beforeAll(() => harness.start());
afterAll(() => harness.stop());

/** Watches the value at `path` through an independent client (the "third client" of the tests). */
function watch(client: Client, path: string): { value: () => unknown; stop: () => void } {
  let current: unknown = undefined;
  const stop = onValue(ref(client.database, path), (snap) => {
    current = snap.val();
  });
  return { value: () => current, stop };
}

const count = (v: unknown): number => (v && typeof v === 'object' ? Object.keys(v).length : 0);

describe('history window', () => {
  it('a reader joining later does not receive frames older than historyMs', async () => {
    const writer = await harness.create({ ttlMs: 60_000 });
    const topic = randomTopic();
    const old = randomBytes(40);
    await writer.publish(topic, old);
    const frames = `sealsig/topics/${topic}/frames`;
    for (let i = 0; i < 100 && count(await harness.server.read(frames)) === 0; i++) await sleep(20);
    await sleep(600); // the frame is now over 600 ms old

    // Two readers join now: one with a 300 ms window, one with a window that covers the frame.
    const late = await harness.create({ historyMs: 300 });
    const wide = await harness.create({ historyMs: 60_000 });
    const lateInbox = new Inbox();
    const wideInbox = new Inbox();
    await late.subscribe(topic, lateInbox.handler);
    await wide.subscribe(topic, wideInbox.handler);
    await wideInbox.waitForFrame(old, 0, 5000, 250, 'a reader whose window covers the frame gets it');

    const fresh = randomBytes(40);
    await writer.publish(topic, fresh);
    await lateInbox.waitForFrame(fresh, 0, 5000, 250, 'the late reader gets a new frame');
    expect(lateInbox.frames).toHaveLength(1); // and not the old one, which is still stored:
    expect(count(await harness.server.read(frames))).toBe(2);
    await Promise.all([writer.close(), late.close(), wide.close()]);
  });
});

describe('TTL', () => {
  it("a writer removes its own frames after ttlMs (seen empty by a third client)", async () => {
    const writer = await harness.create({ ttlMs: 1000 });
    const reader = await harness.create();
    const topic = randomTopic();
    const inbox = new Inbox();
    await reader.subscribe(topic, inbox.handler);
    const observer = watch(harness.client(), `sealsig/topics/${topic}/frames`);
    for (let i = 0; i < 3; i++) await writer.publish(topic, randomBytes(20));
    await inbox.waitForCount(3, 5000);
    await waitUntil(() => count(observer.value()) === 3, 5000, 'the observer sees the 3 frames');
    expect(writer.openResources).toBeGreaterThanOrEqual(3); // one TTL timer per frame
    await waitUntil(() => observer.value() === null, 5000, 'the frames path is empty after the TTL');
    expect(inbox.count).toBe(3); // removal is not delivery
    observer.stop();
    await Promise.all([writer.close(), reader.close()]);
  });

  it('close() removes the frames still within their TTL and clears the timers', async () => {
    const writer = await harness.create({ ttlMs: 60_000 });
    const topic = randomTopic();
    const observer = watch(harness.client(), `sealsig/topics/${topic}/frames`);
    await writer.publish(topic, randomBytes(20));
    await waitUntil(() => count(observer.value()) === 1, 5000, 'the observer sees the frame');
    // Close the transport but keep its client, so the removals reach the server.
    const db = harness.client().database;
    const t = createFirebaseTransport({ database: db, ttlMs: 60_000 });
    await t.publish(topic, randomBytes(20));
    await waitUntil(() => count(observer.value()) === 2, 5000, 'the observer sees the second frame');
    await t.close();
    expect(t.openResources).toBe(0);
    await waitUntil(() => count(observer.value()) === 1, 5000, "close() removed its transport's frame");
    observer.stop();
    await writer.close();
  });
});

describe('presence and connection state', () => {
  it('is set on subscribe, removed when the socket drops, restored on reconnection, removed on unsubscribe', async () => {
    const t = await harness.create();
    const states: TransportState[] = [t.state];
    t.onStateChange((s) => states.push(s));
    const topic = randomTopic();
    const entry = watch(harness.client(), `sealsig/topics/${topic}/presence/${t.writerId}`);
    const unsubscribe = await t.subscribe(topic, () => undefined);
    await waitUntil(() => typeof entry.value() === 'number', 5000, 'the presence entry appears');

    // The server kills the socket: the onDisconnect the transport registered removes the entry.
    expect(harness.dropSocket(t)).toBe(1);
    await waitUntil(() => entry.value() === null, 5000, 'the presence entry is removed by onDisconnect');
    await waitUntil(() => t.state === 'open' && states.includes('reconnecting'), 15_000, 'the transport reconnects');
    await waitUntil(() => typeof entry.value() === 'number', 5000, 'the presence entry is back after reconnecting');

    await unsubscribe();
    await waitUntil(() => entry.value() === null, 5000, 'unsubscribe removes the presence entry');
    await t.close();
    expect(states[0]).toBe('connecting');
    expect(states).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
    entry.stop();
  });

  it('keeps presence while another subscription to the topic is open; close() removes it', async () => {
    const t = await harness.create();
    const topic = randomTopic();
    const entry = watch(harness.client(), `sealsig/topics/${topic}/presence/${t.writerId}`);
    const first = await t.subscribe(topic, () => undefined);
    await t.subscribe(topic, () => undefined);
    await waitUntil(() => typeof entry.value() === 'number', 5000, 'the presence entry appears');
    await first();
    await sleep(200);
    expect(typeof entry.value()).toBe('number');
    // close() without deleting the client: the removal itself must reach the server.
    const db = harness.client().database;
    const u = createFirebaseTransport({ database: db });
    const other = watch(harness.client(), `sealsig/topics/${topic}/presence/${u.writerId}`);
    await u.subscribe(topic, () => undefined);
    await waitUntil(() => typeof other.value() === 'number', 5000, 'the second presence entry appears');
    await u.close();
    await waitUntil(() => other.value() === null, 5000, 'close() removes the presence entry');
    entry.stop();
    other.stop();
    await t.close();
  });
});

describe('hostile children', () => {
  it('drops and reports malformed or oversized children, never throws, keeps delivering', async () => {
    const errors: SealsigError[] = [];
    const reader = await harness.create({ maxFrameBytes: 64, onError: (e) => errors.push(e) });
    const topic = randomTopic();
    const inbox = new Inbox();
    await reader.subscribe(topic, inbox.handler);
    const raw = harness.client().database;
    const frames = ref(raw, `sealsig/topics/${topic}/frames`);
    const t = Date.now();
    // (A child without a numeric `t`, such as a plain string, sorts before any number: the query itself
    // leaves it out, and it never reaches the transport.)
    await push(frames, 'just a string');
    const bad: unknown[] = [
      { d: 'not base64url!', t, w: 'x' },
      { d: 'QQ==', t, w: 'x' }, // padding is not canonical here
      { d: 'QR', t, w: 'x' }, // non-zero trailing bits
      { d: 12, t, w: 'x' },
      { d: 'QUFB', t, w: 'x', extra: 1 },
      { d: 'QUFB', t: 'yesterday', w: 'x' },
      { d: 'QUFB', t, w: 'x'.repeat(33) },
      { d: 'A'.repeat(87), t, w: 'x' }, // 65 bytes' worth: over maxFrameBytes 64
    ];
    for (const value of bad) await push(frames, value);
    const good = randomBytes(64);
    await push(frames, { d: toBase64Url(good), t, w: 'x' });
    await inbox.waitForFrame(good, 0, 5000, 250, 'the good frame after the bad ones');
    expect(inbox.count).toBe(1);
    expect(reader.dropped).toBe(bad.length);
    expect(errors.map((e) => e.code)).toEqual([...Array(bad.length - 1).fill('E_FRAME_MALFORMED'), 'E_FRAME_TOO_LARGE']);
    expect(errors.every((e) => e instanceof SealsigError)).toBe(true);
    await reader.close();
  });

  it('reports a throwing frame handler instead of crashing', async () => {
    const errors: SealsigError[] = [];
    const reader = await harness.create({ onError: (e) => errors.push(e) });
    const writer = await harness.create();
    const topic = randomTopic();
    const inbox = new Inbox();
    await reader.subscribe(topic, () => {
      throw new Error('app bug');
    });
    await reader.subscribe(topic, inbox.handler);
    await writer.publish(topic, randomBytes(8));
    await inbox.waitForCount(1, 5000);
    await waitUntil(() => errors.length === 1, 5000, 'the handler error is reported');
    expect(errors[0]!.code).toBe('E_TRANSPORT');
    await Promise.all([reader.close(), writer.close()]);
  });
});

describe('bounded writes', () => {
  it('publish() waits for room among maxPendingWrites while offline, then rejects with E_TRANSPORT', async () => {
    const client = harness.client();
    const t = createFirebaseTransport({ database: client.database, maxPendingWrites: 2, publishTimeoutMs: 200 });
    await waitUntil(() => t.state === 'open', 5000, 'open');
    goOffline(client.database);
    await waitUntil(() => t.state === 'reconnecting', 5000, 'reconnecting');
    const topic = randomTopic();
    await t.publish(topic, randomBytes(8)); // queued by the SDK
    await t.publish(topic, randomBytes(8));
    await expect(t.publish(topic, randomBytes(8))).rejects.toMatchObject({ name: 'SealsigError', code: 'E_TRANSPORT' });
    // Back online: the queued writes are acknowledged and publish() has room again.
    goOnline(client.database);
    await t.publish(topic, randomBytes(8));
    // A publish waiting for room is released by close() with E_CLOSED.
    goOffline(client.database);
    await waitUntil(() => t.state === 'reconnecting', 5000, 'reconnecting');
    await t.publish(topic, randomBytes(8)).catch(() => undefined);
    await t.publish(topic, randomBytes(8)).catch(() => undefined);
    const waiting = t.publish(topic, randomBytes(8));
    await t.close();
    await expect(waiting).rejects.toMatchObject({ code: 'E_CLOSED' });
    expect(t.openResources).toBe(0);
    await harness.deleteClient(client);
  });
});

describe('subscribing before the first connection', () => {
  it('waits at most subscribeTimeoutMs, and the listen still delivers once connected', async () => {
    const client = harness.client();
    goOffline(client.database); // before the first connection: the server clock is not known yet
    const t = createFirebaseTransport({ database: client.database, subscribeTimeoutMs: 200 });
    const topic = randomTopic();
    const inbox = new Inbox();
    await t.subscribe(topic, inbox.handler); // resolves after the timeout
    expect(t.state).toBe('connecting');
    goOnline(client.database);
    await waitUntil(() => t.state === 'open', 5000, 'the transport connects');
    const writer = await harness.create();
    const frame = randomBytes(16);
    await writer.publish(topic, frame);
    await inbox.waitForFrame(frame, 0, 5000, 250, 'a frame on the listen made while offline');
    await t.close();
    await writer.close();
    await harness.deleteClient(client);
  });
});

describe('options', () => {
  it('rejects bad options with E_INVALID_ARGUMENT', () => {
    const database = harness.client().database;
    const bad: unknown[] = [
      undefined,
      {},
      { database: {} },
      { database, root: '' },
      { database, root: 'a/../b' },
      { database, root: 'has.dot' },
      { database, ttlMs: 0 },
      { database, historyMs: -1 },
      { database, maxFrameBytes: 1.5 },
      { database, maxFrameBytes: 64 * 1024 * 1024 },
      { database, onError: 'no' },
    ];
    for (const options of bad) {
      expect(() => createFirebaseTransport(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }),
      );
    }
  });

  it('uses the root option as the path prefix', async () => {
    const a = await harness.create({ root: 'apps/demo' });
    const b = await harness.create({ root: 'apps/demo' });
    const other = await harness.create({ root: 'elsewhere' });
    const topic = randomTopic();
    const inB = new Inbox();
    const inOther = new Inbox();
    await b.subscribe(topic, inB.handler);
    await other.subscribe(topic, inOther.handler);
    const frame = randomBytes(16);
    await a.publish(topic, frame);
    await inB.waitForFrame(frame, 0, 5000, 250, 'same root delivers');
    expect(count(await harness.server.read(`apps/demo/topics/${topic}/frames`))).toBe(1);
    await sleep(250);
    expect(inOther.count).toBe(0);
    await Promise.all([a.close(), b.close(), other.close()]);
  });
});
