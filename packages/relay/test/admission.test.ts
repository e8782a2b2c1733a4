import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError, createAdmissionToken, sodiumReady, verifyAdmissionToken, type Relay } from '../src/index.js';
import { ErrorCode } from '../src/protocol.js';
import { secretKey } from '../src/token.js';
import { connect, roundTrip, startRelay, text, waitFor } from './helpers.js';

const SECRET = 'an operator secret of 32 bytes!!';
const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'BBBBBBBBBBBBBBBBBBBBBB';

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
    // Another topic: ERROR 5, for SUBSCRIBE and PUBLISH alike; the connection stays usable.
    await a.subscribe(OTHER);
    a.publish(OTHER, text('elsewhere'));
    await waitFor(() => a.errors().length === 2);
    expect(a.errors().map((e) => [e.code, e.topic])).toEqual([
      [ErrorCode.notAllowed, OTHER],
      [ErrorCode.notAllowed, OTHER],
    ]);
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
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof RelayError ? e.code : 'untyped';
      }
      return 'none';
    };
    expect(codeOf(() => verifyAdmissionToken(token, key, 1_005_000))).toBe('E_TOKEN_EXPIRED');
    expect(codeOf(() => verifyAdmissionToken('a.b.c', key))).toBe('E_TOKEN_INVALID');
    expect(codeOf(() => verifyAdmissionToken('x'.repeat(600), key))).toBe('E_TOKEN_INVALID');
    expect(codeOf(() => verifyAdmissionToken(`${token}=`, key))).toBe('E_TOKEN_INVALID');
    await expect(createAdmissionToken({ secret: 'short', topic: TOPIC, ttlSeconds: 5 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(createAdmissionToken({ secret: SECRET, topic: 'bad topic', ttlSeconds: 5 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    await expect(createAdmissionToken({ secret: SECRET, topic: TOPIC, ttlSeconds: 0 })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });
});
