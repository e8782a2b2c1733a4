import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError, createAdmissionToken, grantAdmits, sodiumReady, verifyAdmissionToken, type Relay } from '../src/index.js';
import { ErrorCode } from '../src/protocol.js';
import { mac256 } from '../src/sodium.js';
import { secretKey } from '../src/token.js';
import { connect, roundTrip, startRelay, text, waitFor, type TestClient } from './helpers.js';

const SECRET = 'an operator secret of 32 bytes!!';
const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';
/** Inbox topics as core v2 shapes them: route tag, "_", 22 base64url characters (45 in all). */
const inbox = (tag: string, suffix: string) => `${tag}_${suffix.padEnd(22, 'x').slice(0, 22)}`;
const INBOX_A = inbox(TOPIC, 'inbox-of-a');
const INBOX_B = inbox(TOPIC, 'inbox_of-b');

/** The rule of PROTOCOL-RELAY.md §2, in one line. */
const familyAdmits = (prefix: string, topic: string) => topic === prefix || topic.startsWith(`${prefix}_`);

/** A correctly signed token around any payload (the mac is right; only the payload's content is at stake). */
function signed(payload: unknown): string {
  const bytes = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return `${bytes.toString('base64url')}.${Buffer.from(mac256(bytes, secretKey(SECRET))).toString('base64url')}`;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof RelayError ? e.code : 'untyped';
  }
  return 'none';
}

/** Subscribes to and publishes on `topic`; the ERROR 5 replies it got (0: admitted, 2: refused both times). */
/** Refusals of a SUBSCRIBE (ERROR 5) and a PUBLISH (NACK 5) on `topic`: 0 or 2. */
async function scopeErrors(c: TestClient, topic: string, barrier: string): Promise<number> {
  const before = c.errors().length;
  const nacksBefore = c.nacks().length;
  await c.subscribe(topic);
  c.publish(topic, text('probe'));
  await c.subscribe(barrier); // always admitted: once SUBSCRIBED, the PUBLISH before it was handled
  const errors = c.errors().slice(before);
  const nacks = c.nacks().slice(nacksBefore);
  expect(errors.every((e) => e.code === ErrorCode.notAllowed && e.topic === topic)).toBe(true);
  expect(nacks.every((n) => n.code === ErrorCode.notAllowed)).toBe(true);
  return errors.length + nacks.length;
}

let relay: Relay;
let url: string;
beforeAll(async () => {
  ({ relay, url } = await startRelay({ admission: { secret: SECRET }, retention: false }));
});
afterAll(() => relay.close());

const withToken = (token: string) => `${url}?token=${encodeURIComponent(token)}`;

describe('admission tokens', () => {
  it('admits a valid token and scopes the connection to its topic', async () => {
    const token = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 60 });
    const a = await connect(withToken(token));
    const b = await connect(withToken(token));
    await a.subscribe(TOPIC);
    await b.subscribe(TOPIC);
    await roundTrip(a, b, TOPIC);
    // Another topic: ERROR 5 for SUBSCRIBE, NACK 5 for PUBLISH; the connection stays usable.
    await a.subscribe(OTHER);
    a.publish(OTHER, text('elsewhere'));
    await waitFor(() => a.errors().length === 1 && a.nacks().length === 1);
    expect(a.errors().map((e) => [e.code, e.topic])).toEqual([[ErrorCode.notAllowed, OTHER]]);
    expect(a.nacks()).toEqual([{ seq: 2, code: ErrorCode.notAllowed }]);
    await roundTrip(a, b, TOPIC);
    await Promise.all([a.close(), b.close()]);
  });

  it('closes 4001 for a missing, expired, forged or foreign-secret token', async () => {
    const expired = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 10, now: Date.now() - 60_000 });
    const valid = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 60 });
    const [payload, mac] = valid.split('.') as [string, string];
    const forgedMac = `${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BA' : 'AA'}`;
    // Same mac, payload swapped for another topic: the mac no longer matches.
    const otherPayload = Buffer.from(JSON.stringify({ t: OTHER, e: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const swapped = `${otherPayload}.${mac}`;
    const foreign = await createAdmissionToken({ secret: 'another secret, also long enough', topic: TOPIC, ttlSeconds: 60 });
    for (const target of [url, withToken(expired), withToken(forgedMac), withToken(swapped), withToken(foreign), withToken('garbage')]) {
      const c = await connect(target);
      const { code, reason } = await c.closed;
      expect(code, target).toBe(4001);
      expect(reason).toMatch(/admission token/);
    }
    const expiredClient = await connect(withToken(expired));
    expect((await expiredClient.closed).reason).toBe('admission token expired');
    expect(relay.metrics().closes['4001']).toBeGreaterThanOrEqual(7);
  });

  it('verifies and refuses tokens as typed errors', async () => {
    await sodiumReady();
    const key = secretKey(SECRET);
    const token = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 5, now: 1_000_000 });
    expect(verifyAdmissionToken(token, key, 1_000_000)).toEqual({ topic: TOPIC, expires: 1_005 });
    expect(codeOf(() => verifyAdmissionToken(token, key, 1_005_000))).toBe('E_TOKEN_EXPIRED');
    expect(codeOf(() => verifyAdmissionToken('a.b.c', key))).toBe('E_TOKEN_INVALID');
    expect(codeOf(() => verifyAdmissionToken('x'.repeat(600), key))).toBe('E_TOKEN_INVALID');
    expect(codeOf(() => verifyAdmissionToken(`${token}=`, key))).toBe('E_TOKEN_INVALID');
    await expect(createAdmissionToken({ secret: 'short', topic: TOPIC, ttlSeconds: 5 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(createAdmissionToken({ secret: SECRET, topic: 'bad topic', ttlSeconds: 5 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 0 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });

  it('an exact-topic token does not admit the topic\'s inboxes', async () => {
    const token = await createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 60 });
    const a = await connect(withToken(token));
    expect(await scopeErrors(a, TOPIC, TOPIC)).toBe(0);
    expect(await scopeErrors(a, INBOX_A, TOPIC)).toBe(2);
    await a.close();
  });
});

describe('family tokens ({"p": prefix})', () => {
  it('admit the session topic and its inboxes, for SUBSCRIBE and PUBLISH', async () => {
    const token = await createAdmissionToken({ secret: SECRET, prefix: TOPIC, ttlSeconds: 60 });
    const a = await connect(withToken(token));
    const b = await connect(withToken(token));
    expect(INBOX_A).toHaveLength(45);
    for (const [c, own] of [[a, INBOX_A], [b, INBOX_B]] as const) {
      await c.subscribe(TOPIC);
      await c.subscribe(own);
    }
    await roundTrip(a, b, TOPIC); // session topic
    await roundTrip(b, a, INBOX_A); // b writes to a's inbox
    await roundTrip(a, b, INBOX_B); // and a to b's
    expect(a.delivered(INBOX_B)).toEqual([]);
    expect(b.delivered(INBOX_A)).toEqual([]);
    expect([...a.errors(), ...b.errors()]).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuse another route tag, the prefix without the separator, and a topic holding the prefix later', async () => {
    const token = await createAdmissionToken({ secret: SECRET, prefix: TOPIC, ttlSeconds: 60 });
    const a = await connect(withToken(token));
    const b = await connect(withToken(token));
    await b.subscribe(TOPIC);
    const refused = [
      OTHER, // another route tag
      inbox(OTHER, 'inbox'), // and its inbox
      `${TOPIC}x`, // the prefix and more, without the separator
      `${TOPIC}${'x'.repeat(23)}`,
      `${TOPIC}-${'x'.repeat(22)}`, // '-' is not the separator
      TOPIC.slice(0, -1), // shorter than the prefix
      `${TOPIC.slice(0, -1)}_${'x'.repeat(22)}`, // the prefix cut short, then '_'
      `x_${TOPIC}`, // the prefix later in the topic
      `x${TOPIC}_${'x'.repeat(22)}`,
      `${OTHER}_${TOPIC}`,
    ];
    for (const topic of refused) expect(await scopeErrors(a, topic, TOPIC), topic).toBe(2);
    // Nothing refused was relayed: b, on the session topic, got no probe either.
    await roundTrip(a, b, TOPIC);
    expect(b.delivered().filter((f) => Buffer.from(f).toString() === 'probe')).toEqual([]);
    expect(await scopeErrors(a, `${TOPIC}_`, TOPIC)).toBe(0); // the rule as written: t starts with prefix + "_"
    await Promise.all([a.close(), b.close()]);
  });

  it('refuse malformed payloads with E_TOKEN_INVALID, and the relay closes 4001', async () => {
    await sodiumReady();
    const key = secretKey(SECRET);
    const e = Math.floor(Date.now() / 1000) + 60;
    expect(verifyAdmissionToken(signed({ p: TOPIC, e }), key)).toEqual({ prefix: TOPIC, expires: e });
    expect(verifyAdmissionToken(signed({ p: 'a'.repeat(62), e }), key)).toEqual({ prefix: 'a'.repeat(62), expires: e });
    expect(verifyAdmissionToken(signed({ t: TOPIC, e, x: 1 }), key)).toEqual({ topic: TOPIC, expires: e }); // other members are ignored
    const malformed: unknown[] = [
      { t: TOPIC, p: TOPIC, e }, // both
      { t: TOPIC, p: null, e },
      { e }, // neither
      { p: 'bad topic', e },
      { p: '', e },
      { p: 'a.b', e },
      { p: 42, e },
      { p: 'a'.repeat(63), e }, // no room for "_" and a subtopic
      { p: 'a'.repeat(64), e },
      { p: TOPIC, e: String(e) },
      { p: TOPIC, e: e + 0.5 },
      { p: TOPIC },
      [TOPIC, e],
    ];
    for (const payload of malformed) expect(codeOf(() => verifyAdmissionToken(signed(payload), key)), JSON.stringify(payload)).toBe('E_TOKEN_INVALID');
    expect(codeOf(() => verifyAdmissionToken(signed({ p: TOPIC, e: 1 }), key))).toBe('E_TOKEN_EXPIRED');
    for (const payload of [malformed[0], malformed[7]]) {
      const c = await connect(withToken(signed(payload)));
      expect(await c.closed).toEqual({ code: 4001, reason: 'admission token invalid' });
    }
  });

  it('createAdmissionToken takes exactly one of topic and prefix', async () => {
    const token = await createAdmissionToken({ secret: SECRET, prefix: TOPIC, ttlSeconds: 5, now: 1_000_000 });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toEqual({ p: TOPIC, e: 1_005 });
    const bad = (o: object) => expect(createAdmissionToken({ secret: SECRET, ttlSeconds: 5, ...o } as never)).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await bad({ topic: TOPIC, prefix: TOPIC });
    await bad({});
    await bad({ topic: undefined, prefix: undefined });
    await bad({ prefix: '' });
    await bad({ prefix: 'bad prefix' });
    await bad({ prefix: 'a'.repeat(63) });
    await bad({ prefix: 7 });
    await bad({ topic: 7 });
  });

  it('property: grantAdmits agrees with the one-line rule over random topic pairs', async () => {
    await sodiumReady();
    const key = secretKey(SECRET);
    fc.assert(
      fc.property(topicPair(), ([prefix, topic]) => {
        const grant = verifyAdmissionToken(signed({ p: prefix, e: 4_000_000_000 }), key);
        expect(grantAdmits(grant, topic)).toBe(familyAdmits(prefix, topic));
        // The exact form admits the one topic only.
        expect(grantAdmits({ topic: prefix, expires: 0 }, topic)).toBe(topic === prefix);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: the relay admits exactly what the rule admits, for SUBSCRIBE and PUBLISH', async () => {
    await fc.assert(
      fc.asyncProperty(topicPair(), async ([prefix, topic]) => {
        const c = await connect(withToken(await createAdmissionToken({ secret: SECRET, prefix, ttlSeconds: 60 })));
        try {
          expect(await scopeErrors(c, topic, prefix)).toBe(familyAdmits(prefix, topic) ? 0 : 2);
        } finally {
          await c.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

/**
 * A family prefix (1..62 chars) and a topic (1..64 chars) near it: the prefix itself, prefix + "_" + more,
 * prefix + other characters, the prefix inside or cut short, or unrelated. A small alphabet with both
 * '_' and '-' makes near misses common.
 */
function topicPair(): fc.Arbitrary<[string, string]> {
  const chars = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'aAb0_-'), minLength: min, maxLength: max });
  return fc
    .tuple(chars(1, 62), chars(0, 30), chars(0, 30), fc.nat(4))
    .map(([prefix, before, after, shape]): [string, string] => {
      const topic = [prefix, `${prefix}_${after}`, `${prefix}${after}`, `${before}${prefix}${after}`, prefix.slice(0, before.length) + after][shape]!;
      return [prefix, topic];
    })
    .filter(([, topic]) => topic.length >= 1 && topic.length <= 64);
}
