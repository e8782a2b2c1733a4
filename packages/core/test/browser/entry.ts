/** Bundled for the browser by browser.test.ts: the core API end to end inside a real Chromium page. */
import { createMemoryNetwork, createSessionId, joinSession, type Session } from '../../src/index.js';

async function run() {
  const net = createMemoryNetwork();
  const sessionId = createSessionId();
  const a = await joinSession({ sessionId, transport: net.connect() });
  const b = await joinSession({ sessionId, transport: net.connect() });
  while (a.peers.length === 0 || b.peers.length === 0) await new Promise((r) => setTimeout(r, 1));
  const next = (s: Session, type: 'signal' | 'message') => new Promise<unknown>((r) => s.once(type, r));
  const offer = next(b, 'signal');
  await a.sendDescription(b.id, { type: 'offer', sdp: 'v=0\r\n' });
  const chat = next(a, 'message');
  await b.broadcast({ text: 'hi from a browser' });
  const result = { offer: ((await offer) as { description: unknown }).description, chat: ((await chat) as { value: unknown }).value, frames: net.log.length };
  await Promise.all([a.close(), b.close()]);
  return result;
}

(globalThis as { sealsigResult?: Promise<unknown> }).sealsigResult = run();
