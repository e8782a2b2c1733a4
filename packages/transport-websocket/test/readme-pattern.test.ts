/**
 * The README's pattern, through a real relay: each member attaches its 'peer-joined' listener after
 * `await joinSession(...)`, and the lower member id makes the offer. Protocol v1 lost the event for members
 * already present (10 runs of 10 saw no offer); core now reports the peers already live to a listener
 * attached later, so every run must see exactly one offer and one answer.
 */
import { createSessionId, joinSession, type Session } from '@sealsig/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketTransport, type WebSocketTransport } from '../src/index.js';
import { startRelay, waitUntil } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('the README pattern through a relay', () => {
  it('listeners attached after the await: the lower id offers, the other answers (10 runs)', async () => {
    const r = await startRelay({});
    cleanups.push(() => r.relay.close());
    for (let run = 0; run < 10; run++) {
      const sessionId = createSessionId();
      const transports: WebSocketTransport[] = [createWebSocketTransport({ urls: [r.url] }), createWebSocketTransport({ urls: [r.url] })];
      cleanups.push(...transports.map((t) => () => t.close()));
      // Both join at once; each attaches its listeners only after its own await.
      const sessions = await Promise.all(transports.map((transport) => joinSession({ sessionId, transport })));
      cleanups.push(...sessions.map((s) => () => s.close()));
      const seen: string[] = [];
      const attach = (session: Session) => {
        session.on('peer-joined', (peer) => {
          if (session.id > peer.id) return; // the README: the lower member id offers
          void session.sendDescription(peer.id, { type: 'offer', sdp: `v=0\r\ns=run ${run}\r\n` });
        });
        session.on('signal', ({ from, description }) => {
          if (!description) return;
          seen.push(description.type);
          if (description.type === 'offer') void session.sendDescription(from.id, { type: 'answer', sdp: 'v=0\r\n' });
        });
      };
      sessions.forEach(attach);
      await waitUntil(() => seen.length === 2, 10_000, `offer and answer in run ${run}`);
      expect(seen).toEqual(['offer', 'answer']);
      await Promise.all(sessions.map((s) => s.close()));
    }
  }, 120_000);
});
