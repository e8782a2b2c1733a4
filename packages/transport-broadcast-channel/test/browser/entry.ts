/**
 * Bundled for the browser by browser.test.ts and loaded by two pages of one origin. The URL fragment
 * carries the session id (never sent to the server) and the query the role: the offerer sends an offer
 * to the first peer it sees, the answerer answers it.
 */
import { joinSession, type SessionEvents } from '@sealsig/core';
import { createBroadcastChannelTransport } from '../../src/index.js';

async function run(): Promise<unknown> {
  const sessionId = location.hash.slice(1);
  const role = new URLSearchParams(location.search).get('role');
  const transport = createBroadcastChannelTransport();
  // Small heartbeats: a hello posted before the other page opened its channel is lost, the next one isn't.
  const session = await joinSession({ sessionId, transport, heartbeatMs: 250 });
  const errors: string[] = [];
  session.on('error', (e) => errors.push(e.code));
  const signal = () => new Promise<SessionEvents['signal']>((resolve) => session.once('signal', resolve));
  const peer = await new Promise<string>((resolve) => (session.peers[0] ? resolve(session.peers[0].id) : session.once('peer-joined', (p) => resolve(p.id))));
  if (role === 'offerer') {
    const answer = signal();
    await session.sendDescription(peer, { type: 'offer', sdp: `v=0 offer from ${session.id}` });
    return { me: session.id, peer, got: (await answer).description, errors };
  }
  const offer = await signal();
  await session.sendDescription(offer.from.id, { type: 'answer', sdp: `v=0 answer from ${session.id}` });
  // Stay in the session: the offerer may still need a heartbeat or a handshake retry from this page.
  return { me: session.id, peer, got: offer.description, errors };
}

(globalThis as { sealsigResult?: Promise<unknown> }).sealsigResult = run();
