/** The conformance suite over NATS: the `nats` 2.x client against a real nats-server. */
import { connect } from 'nats';
import type { NatsConnection } from 'nats';
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createPubSubTransport, natsClient } from '../src/index.js';
import { startNats } from './services.js';
import type { Service } from './services.js';

let server: Service | undefined;
const connections = new Map<Transport, NatsConnection>();

transportConformance('pubsub: nats', {
  async setup() {
    server = await startNats();
  },
  async teardown() {
    await Promise.allSettled([...connections.values()].map((nc) => nc.close()));
    await server?.stop();
  },
  async create() {
    const nc = await connect({ servers: `127.0.0.1:${server!.port}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const transport = createPubSubTransport(natsClient(nc, { closeClient: true }));
    connections.set(transport, nc);
    return transport;
  },
  selfEcho: true, // NATS echoes to the publisher's own subscriptions unless it connected with noEcho
  oversize: 'chunked',
  async disrupt(transport) {
    await connections.get(transport)!.reconnect(); // drops the socket and reconnects, as after a network failure
  },
  openResources: () => [...connections.values()].filter((nc) => !nc.isClosed()).length,
});
