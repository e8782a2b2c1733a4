/**
 * sealsig dropped into an existing socket.io signaling setup, unchanged except for two small event
 * handlers: the server only relays opaque frames to a room per topic, and two clients complete a sealed
 * offer/answer through it. The server never sees the session id, an SDP or a key.
 *
 *   node --conditions=source --import tsx packages/transport-generic/examples/socket-io.ts
 *
 * (Apps import from '@sealsig/transport-generic'; the example imports the sources to run in place.)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createSessionId, joinSession, type Session, type SessionDescription } from '@sealsig/core';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { createGenericTransport } from '../src/index.js';

/** The signaling server you already have, plus 'join', 'leave' and 'frame' handlers. */
async function startServer(): Promise<{ url: string; relayed: () => number; close: () => Promise<void> }> {
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  let relayed = 0;
  io.on('connection', (socket) => {
    socket.on('join', (topic: unknown, ack: unknown) => {
      if (typeof topic === 'string' && topic.length <= 64) void socket.join(`sealsig:${topic}`);
      if (typeof ack === 'function') ack();
    });
    socket.on('leave', (topic: unknown) => {
      if (typeof topic === 'string') void socket.leave(`sealsig:${topic}`);
    });
    socket.on('frame', (topic: unknown, data: unknown) => {
      // Opaque bytes: check the size, never the content.
      if (typeof topic !== 'string' || !(data instanceof Uint8Array) || data.length > 64 * 1024) return;
      relayed++;
      socket.to(`sealsig:${topic}`).emit('frame', topic, data);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    relayed: () => relayed,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}

/** The client side: a sealsig transport over the app's socket.io connection. */
function sealsigTransport(socket: Socket) {
  return createGenericTransport({
    send: (topic, data) => void socket.emit('frame', topic, data),
    onMessage: (listener) => {
      socket.on('frame', listener);
      return () => void socket.off('frame', listener);
    },
    subscribe: (topic) => socket.timeout(10_000).emitWithAck('join', topic),
    unsubscribe: (topic) => void socket.emit('leave', topic),
    connected: () => socket.connected,
    onConnectionChange: (listener) => {
      const up = () => listener(true);
      const down = () => listener(false);
      socket.on('connect', up).on('disconnect', down);
      return () => void socket.off('connect', up).off('disconnect', down);
    },
  });
}

const nextSignal = (session: Session) =>
  new Promise<SessionDescription>((resolve) => session.once('signal', (s) => s.description && resolve(s.description)));

/** Runs the whole example; resolves with what each side received. */
export async function runExample(): Promise<{ offer: SessionDescription; answer: SessionDescription; framesRelayed: number }> {
  const server = await startServer();
  const sockets = [0, 1].map(() => connect(server.url, { transports: ['websocket'], forceNew: true }));
  const [aliceTransport, bobTransport] = sockets.map(sealsigTransport);
  try {
    // The session id travels out of band (an invitation link's fragment), never through the server.
    const sessionId = createSessionId();
    const alice = await joinSession({ sessionId, transport: aliceTransport! });
    const bob = await joinSession({ sessionId, transport: bobTransport! });
    const bobJoined = alice.peers.length ? Promise.resolve(alice.peers[0]!) : new Promise((resolve) => alice.once('peer-joined', resolve));
    const bobId = ((await bobJoined) as { id: string }).id;

    const offerAtBob = nextSignal(bob);
    await alice.sendDescription(bobId, { type: 'offer', sdp: 'v=0\r\no=alice 1 1 IN IP4 0.0.0.0\r\n' });
    const offer = await offerAtBob;
    const answerAtAlice = nextSignal(alice);
    await bob.sendDescription(alice.id, { type: 'answer', sdp: 'v=0\r\no=bob 1 1 IN IP4 0.0.0.0\r\n' });
    const answer = await answerAtAlice;

    await Promise.all([alice.close(), bob.close()]);
    return { offer, answer, framesRelayed: server.relayed() };
  } finally {
    await Promise.all([aliceTransport!.close(), bobTransport!.close()]);
    for (const s of sockets) s.disconnect();
    await server.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { offer, answer, framesRelayed } = await runExample();
  console.log(`bob received the ${offer.type}, alice received the ${answer.type}; the server relayed ${framesRelayed} sealed frames`);
}
