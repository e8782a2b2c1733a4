// SessionOptions.logger (issue 12): the log explains what a session does, summarises dropped frames (a line
// per interval, not per frame) and never carries a secret: the session id, a topic, key material, content.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DROP_LOG_INTERVAL_MS,
  createMemoryNetwork,
  createSessionId,
  deriveEpochKeys,
  deriveSession,
  ed25519KeyPair,
  fromBase64Url,
  joinSession,
  ready,
  toBase64Url,
  toHex,
  x25519KeyPair,
  type Identity,
  type SessionLogEvent,
} from '../src/index.js';
import { waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every encoding of the bytes a log could leak them in: hex (both cases), base64url, base64. */
function encodings(bytes: Uint8Array): string[] {
  const hex = toHex(bytes);
  return [hex, hex.toUpperCase(), toBase64Url(bytes), Buffer.from(bytes).toString('base64')];
}

describe('SessionOptions.logger', () => {
  it('logs joins, handshakes, gaps, leaves and drop summaries, bounded, without secrets', async () => {
    await ready();
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const identity = (): Identity => ({ signing: ed25519KeyPair(), dh: x25519KeyPair() });
    const idA = identity();
    const idB = identity();
    const logA: SessionLogEvent[] = [];
    const logB: SessionLogEvent[] = [];
    const a = await joinSession({ sessionId, transport: net.connect(), identity: idA, logger: (e) => logA.push(e) });
    const b = await joinSession({ sessionId, transport: net.connect(), identity: idB, logger: (e) => logB.push(e) });
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);

    // Recognisable content, direct (pairwise channel, so a handshake) and broadcast.
    const direct = 'SECRET-direct-7f3a9c-payload';
    const broadcast = 'SECRET-broadcast-e21b04-payload';
    const got: unknown[] = [];
    a.on('message', (m) => got.push(m.value));
    b.on('message', (m) => got.push(m.value));
    await a.send(b.id, { text: direct });
    await b.send(a.id, { text: direct });
    await b.broadcast(broadcast);
    await waitFor(() => got.length === 3);

    // Garbage at a high rate for 2.5 intervals: random bytes, and recorded frames with one byte flipped.
    const recorded = net.log.map((p) => p.frame);
    const garbage = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 600 }),
        fc.record({ i: fc.nat(recorded.length - 1), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ i, at, bit }) => {
          const f = recorded[i]!.slice();
          f[at % f.length]! ^= 1 << bit;
          return f;
        }),
      ),
      { numRuns: 500, seed: 12 },
    );
    let injected = 0;
    const started = Date.now();
    while (Date.now() - started < DROP_LOG_INTERVAL_MS * 2.5) {
      for (const frame of garbage) {
        net.inject(injected % 2 === 0 ? a.topic : a.inbox, frame);
        injected++;
      }
      await sleep(20);
    }
    const injectMs = Date.now() - started;
    net.gap(a.topic);
    await sleep(DROP_LOG_INTERVAL_MS * 1.5); // the last summary
    await b.close();
    await waitFor(() => logA.some((e) => e.message === 'peer left'));
    await a.close();
    const countA = logA.length;
    await sleep(DROP_LOG_INTERVAL_MS * 1.2);
    expect(logA.length, 'nothing is logged after close (the drop timer is cleared)').toBe(countA);

    // The events a reader needs.
    const kinds = (log: SessionLogEvent[]) => new Set(log.map((e) => e.message));
    for (const k of ['joined', 'peer joined', 'handshake finished', 'gap', 'frames dropped', 'peer left', 'closed']) expect(kinds(logA), k).toContain(k);
    for (const k of ['joined', 'peer joined', 'handshake finished', 'frames dropped', 'closed']) expect(kinds(logB), k).toContain(k);
    expect([...logA, ...logB].some((e) => e.message === 'handshake started' && e.fields?.['role'] === 'initiator')).toBe(true);
    expect(logA.find((e) => e.message === 'peer left')?.fields).toEqual({ peer: b.id, reason: 'bye' });
    expect(logA.find((e) => e.message === 'peer joined')?.fields).toEqual({ peer: b.id });

    // Drops: counted exactly, logged in a bounded number of lines (not per frame).
    expect(injected).toBeGreaterThan(10_000);
    for (const [log, s] of [[logA, a], [logB, b]] as const) {
      const drops = log.filter((e) => e.message === 'frames dropped');
      const logged = drops.reduce((n, e) => n + (e.fields?.['total'] as number), 0);
      const counted = Object.values(s.stats.dropped).reduce((n, k) => n + (k ?? 0), 0);
      expect(logged).toBe(counted);
      expect(counted).toBeGreaterThan(5_000);
      expect(drops.length).toBeLessThanOrEqual(Math.ceil(injectMs / DROP_LOG_INTERVAL_MS) + 3);
      for (const e of drops) {
        expect(e.level).toBe('warn');
        for (const k of Object.keys(e.fields!)) expect(k === 'total' || /^E_[A-Z_]+$/.test(k), k).toBe(true);
      }
      expect(log.length).toBeLessThan(40);
    }

    // No secret in any field, in any encoding; not even a 12-character piece of one.
    const secrets = deriveSession(sessionId);
    const epoch0 = deriveEpochKeys(0, secrets.roomKey0);
    const secretStrings = [
      sessionId,
      ...encodings(fromBase64Url(sessionId)!),
      secrets.topic,
      ...encodings(secrets.routeTag),
      ...encodings(secrets.memberIdKey),
      ...encodings(secrets.inboxKey),
      ...encodings(secrets.roomKey0),
      ...Object.values(epoch0).flatMap((v) => (v instanceof Uint8Array ? encodings(v) : [])),
      a.inbox,
      b.inbox,
      ...[idA, idB].flatMap((id) => [...encodings(id.signing.privateKey), ...encodings(id.signing.privateKey.subarray(0, 32)), ...encodings(id.dh.privateKey)]),
      direct,
      broadcast,
      'SECRET',
    ];
    const text = JSON.stringify([logA, logB]);
    for (const e of [...logA, ...logB]) {
      for (const v of Object.values(e.fields ?? {})) expect(['string', 'number', 'boolean']).toContain(typeof v);
    }
    for (const s of secretStrings) {
      expect(s.length).toBeGreaterThanOrEqual(6);
      for (let i = 0; i + 12 <= Math.max(s.length, 12); i++) {
        const piece = s.slice(i, i + 12);
        if (text.includes(piece)) expect.fail(`the log contains a piece of a secret: ${piece}`);
      }
    }
  });

  it('is off by default and refuses a non-function', async () => {
    await ready();
    const net = createMemoryNetwork();
    await expect(joinSession({ sessionId: createSessionId(), transport: net.connect(), logger: 'yes' as never })).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
  });

  it('survives a logger that throws', async () => {
    await ready();
    const net = createMemoryNetwork();
    const sessionId = createSessionId();
    const boom = () => {
      throw new Error('logger down');
    };
    const a = await joinSession({ sessionId, transport: net.connect(), logger: boom });
    const b = await joinSession({ sessionId, transport: net.connect(), logger: boom });
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
    const got = new Promise((r) => b.once('message', (m) => r(m.value)));
    await a.send(b.id, 'hi');
    expect(await got).toBe('hi');
    await Promise.all([a.close(), b.close()]);
  });
});
