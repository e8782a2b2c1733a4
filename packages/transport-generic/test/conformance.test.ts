/**
 * The conformance suite over a real socket.io server and socket.io-client on 127.0.0.1, once with binary
 * frames and once with base64url text. Disruption closes the client's engine (its WebSocket) as a network
 * failure would; socket.io reconnects and the transport joins its rooms again.
 */
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import type { Socket } from 'socket.io-client';
import type { Encoding } from '../src/index.js';
import { startRelay, type Relay } from './relay.js';
import { socketIoTransport } from './socket-io-transport.js';

for (const encoding of ['binary', 'base64url'] as Encoding[]) {
  let relay: Relay;
  const sockets = new WeakMap<Transport, Socket>();
  transportConformance(`generic transport over socket.io (${encoding})`, {
    setup: async () => {
      relay = await startRelay();
    },
    teardown: () => relay.close(),
    create: async () => {
      const { transport, socket } = socketIoTransport(relay.url, encoding);
      sockets.set(transport, socket);
      return transport;
    },
    disrupt: async (transport) => {
      const socket = sockets.get(transport)!;
      socket.io.engine.close(); // the WebSocket goes away; socket.io-client reconnects by itself
      await new Promise<void>((resolve) => (socket.connected ? socket.once('disconnect', () => resolve()) : resolve()));
    },
    openResources: () => relay.clients(),
    selfEcho: false,
    oversize: 'error',
    numRuns: 15,
  });
}
