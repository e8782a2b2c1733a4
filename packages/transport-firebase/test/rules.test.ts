/**
 * database.rules.json, evaluated by firebase-server (which runs the rules with targaryen): the transport
 * works under it, and writes or reads outside the route shape are refused.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from 'firebase/app';
import { child, onValue, push, ref, serverTimestamp, set } from 'firebase/database';
import type { DatabaseReference } from 'firebase/database';
import type { SealsigError } from '@sealsig/core';
import { Inbox, randomBytes, randomTopic } from '@sealsig/transport-conformance';
import { encodedLength } from '../src/index.js';
import { FirebaseHarness } from './harness.js';

const rules = JSON.parse(readFileSync(new URL('../database.rules.json', import.meta.url), 'utf8')) as object;
const harness = new FirebaseHarness();
beforeAll(async () => {
  setLogLevel('error'); // the SDK warns about every refused write, which is what these tests do
  await harness.start();
  harness.server.setRules(rules);
});
afterAll(() => harness.stop());

/** Resolves with 'ok' or the error code of a write (the SDK rejects refused writes with PERMISSION_DENIED). */
async function outcome(write: PromiseLike<unknown>): Promise<string> {
  try {
    await write;
    return 'ok';
  } catch (e) {
    return String((e as Error).message).includes('PERMISSION_DENIED') || String(e).includes('permission_denied') ? 'denied' : String(e);
  }
}

/** Resolves with 'ok' once a listen at `path` gets data, or 'denied' when the server cancels it. */
function readOutcome(r: DatabaseReference): Promise<string> {
  return new Promise((resolve) => {
    const off: () => void = onValue(
      r,
      () => {
        off();
        resolve('ok');
      },
      () => resolve('denied'),
    );
  });
}

describe('database.rules.json', () => {
  it('the max frame size in the rules matches the default maxFrameBytes', () => {
    const text = JSON.stringify(rules);
    expect(text).toContain(`newData.val().length <= ${encodedLength(32 * 1024)}`);
  });

  it('lets the transport publish, subscribe, announce presence and remove its frames', async () => {
    const a = await harness.create({ ttlMs: 300 });
    const errors: SealsigError[] = [];
    const b = await harness.create({ onError: (e) => errors.push(e) });
    const topic = randomTopic();
    const inbox = new Inbox();
    await b.subscribe(topic, inbox.handler);
    const frame = randomBytes(32 * 1024); // the largest frame: its base64url is exactly the rules' limit
    await a.publish(topic, frame);
    await inbox.waitForFrame(frame, 0, 5000, 250, 'a frame under the rules');
    const stored = () => harness.server.read(`sealsig/topics/${topic}`) as Promise<{ frames?: object; presence?: object } | null>;
    expect(Object.keys((await stored())?.presence ?? {})).toEqual([b.writerId]);
    let value = await stored();
    for (let i = 0; i < 100 && value?.frames; i++) {
      await new Promise((r) => setTimeout(r, 50));
      value = await stored();
    }
    expect(value?.frames).toBeUndefined(); // removed after the TTL, allowed by the rules
    expect(errors).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses writes outside the route shape', async () => {
    const db = harness.client().database;
    const topic = randomTopic();
    const frames = ref(db, `sealsig/topics/${topic}/frames`);
    const t = serverTimestamp();
    const good = { d: 'QUFB', t, w: 'writer' };
    expect(await outcome(push(frames, good))).toBe('ok');
    const cases: [string, PromiseLike<unknown>][] = [
      ['a topic that is not 22 base64url characters', push(ref(db, 'sealsig/topics/short/frames'), good)],
      ['a frame key that is not a push id', set(ref(db, `sealsig/topics/${topic}/frames/mine`), good)],
      ['a missing field', push(frames, { d: 'QUFB', t })],
      ['an extra field', push(frames, { ...good, x: 1 })],
      ['a client-chosen timestamp', push(frames, { ...good, t: Date.now() })],
      ['a frame over the size limit', push(frames, { ...good, d: 'A'.repeat(encodedLength(32 * 1024) + 1) })],
      ['a number as the frame', push(frames, { ...good, d: 7 })],
      ['a writer id over 32 characters', push(frames, { ...good, w: 'w'.repeat(33) })],
      ['a write elsewhere', set(ref(db, 'elsewhere/x'), 1)],
      ['a write at the root', set(ref(db, `sealsig/topics/${topic}`), { frames: null })],
      ['a presence entry that is not the server time', set(ref(db, `sealsig/topics/${topic}/presence/w1`), 5)],
    ];
    for (const [what, write] of cases) expect(await outcome(write), what).toBe('denied');

    // Frames are immutable: an existing one cannot be overwritten, only removed.
    const existing = push(frames, good);
    await existing;
    expect(await outcome(set(child(existing, 'd'), 'QkJC'))).toBe('denied');
    expect(await outcome(set(existing, null))).toBe('ok');
  });

  it('refuses reads outside the topics', async () => {
    const db = harness.client().database;
    expect(await readOutcome(ref(db, 'sealsig'))).toBe('denied');
    expect(await readOutcome(ref(db, 'sealsig/topics'))).toBe('denied');
    expect(await readOutcome(ref(db, `sealsig/topics/${randomTopic()}/frames`))).toBe('ok');
  });

  it('a transport subscribing to a topic the rules refuse rejects with E_TRANSPORT', async () => {
    const t = await harness.create();
    await expect(t.subscribe('not-a-route-tag', () => undefined)).rejects.toMatchObject({ code: 'E_TRANSPORT' });
    expect(t.openResources).toBe(2); // only the two .info listeners: the failed subscription was detached
    await t.close();
  });
});
