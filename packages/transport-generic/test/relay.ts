/**
 * A tiny socket.io relay for the tests: one room per topic, frames relayed to the other members of the
 * room (so no self-echo). It checks topics and sizes and ignores anything else; it holds no secrets.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';

export interface Relay {
  url: string;
  io: Server;
  /** Connected clients right now. */
  clients(): number;
  close(): Promise<void>;
}

const TOPIC = /^[A-Za-z0-9_-]{1,64}$/;

export async function startRelay(maxFrameBytes = 64 * 1024): Promise<Relay> {
  const http = createServer();
  // Room for a frame of maxFrameBytes as base64url text, plus the event's own framing.
  const io = new Server(http, { maxHttpBufferSize: Math.ceil((maxFrameBytes * 4) / 3) + 1024, serveClient: false });
  const maxText = Math.ceil((maxFrameBytes * 4) / 3);
  io.on('connection', (socket: Socket) => {
    socket.on('join', (topic: unknown, ack: unknown) => {
      if (typeof topic === 'string' && TOPIC.test(topic)) void socket.join(`t:${topic}`);
      if (typeof ack === 'function') ack();
    });
    socket.on('leave', (topic: unknown, ack: unknown) => {
      if (typeof topic === 'string' && TOPIC.test(topic)) void socket.leave(`t:${topic}`);
      if (typeof ack === 'function') ack();
    });
    socket.on('frame', (topic: unknown, data: unknown) => {
      if (typeof topic !== 'string' || !TOPIC.test(topic)) return;
      const ok = (typeof data === 'string' && data.length <= maxText) || (data instanceof Uint8Array && data.length <= maxFrameBytes);
      if (ok) socket.to(`t:${topic}`).emit('frame', topic, data);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    io,
    clients: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
