/**
 * The shared transport conformance suite (@sealsig/transport-conformance) against a real relay from
 * @sealsig/relay on 127.0.0.1, over real `ws` sockets. disrupt() drops the client's socket without a
 * closing handshake (a dead network), so the transport must notice, reconnect and resubscribe.
 */
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createWebSocketTransport, type WebSocketTransport } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';
import { startRelay, terminate, trackingWebSocket, type RunningRelay } from './helpers.js';

let running: RunningRelay | undefined;
/** The relay's PUBLISH limit, and the transports' publishLimit: a burst of 100, so the suite's bursts are paced. */
const limit = { perSecond: 5_000, burst: 100 };
const socketsOf = new Map<Transport, Set<WebSocketLike>>();
const allSockets = new Set<Set<WebSocketLike>>();

transportConformance('websocket', {
  async setup() {
    // Retention off: the suite reuses topics across subscribe/unsubscribe and counts deliveries exactly.
    running = await startRelay({ retention: false, rateLimit: { frames: limit } });
  },
  async teardown() {
    await running?.relay.close();
  },
  async create() {
    const { WebSocket, sockets } = await trackingWebSocket();
    const transport: WebSocketTransport = createWebSocketTransport({
      urls: [running!.url],
      WebSocket,
      minReconnectDelayMs: 20,
      maxReconnectDelayMs: 200,
      maxQueuedFrames: 2000,
      publishLimit: limit,
    });
    socketsOf.set(transport, sockets);
    allSockets.add(sockets);
    return transport;
  },
  rateRefusals: () => running!.relay.metrics().drops.rate_limited ?? 0,
  selfEcho: false,
  oversize: 'error',
  async disrupt(transport) {
    for (const socket of socketsOf.get(transport) ?? []) if (socket.readyState === 1) terminate(socket);
  },
  openResources() {
    let open = 0;
    for (const sockets of allSockets) for (const s of sockets) if (s.readyState !== 3) open++;
    return open;
  },
});
