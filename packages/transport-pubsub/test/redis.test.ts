/** The conformance suite over Redis pub/sub: ioredis 5 (publisher + subscriber connections) against a real redis-server. */
import { Redis } from 'ioredis';
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createPubSubTransport, redisClient } from '../src/index.js';
import { startRedis } from './services.js';
import type { Service } from './services.js';

let server: Service | undefined;
const connections = new Map<Transport, { publisher: Redis; subscriber: Redis }>();

transportConformance('pubsub: redis', {
  async setup() {
    server = await startRedis();
  },
  async teardown() {
    for (const { publisher, subscriber } of connections.values()) (publisher.disconnect(), subscriber.disconnect());
    await server?.stop();
  },
  async create() {
    const options = { host: '127.0.0.1', port: server!.port, retryStrategy: () => 100, lazyConnect: true };
    const publisher = new Redis(options);
    const subscriber = new Redis(options);
    await Promise.all([publisher.connect(), subscriber.connect()]);
    const transport = createPubSubTransport(redisClient({ publisher, subscriber }, { closeClient: true }));
    connections.set(transport, { publisher, subscriber });
    return transport;
  },
  selfEcho: true, // Redis delivers to every subscriber of the channel, the publisher's own included
  oversize: 'chunked',
  async disrupt(transport) {
    const { publisher, subscriber } = connections.get(transport)!;
    // Both sockets die as in a network failure; ioredis reconnects and resubscribes.
    (subscriber as unknown as { stream: { destroy(): void } }).stream.destroy();
    (publisher as unknown as { stream: { destroy(): void } }).stream.destroy();
  },
  openResources: () => [...connections.values()].reduce((n, c) => n + (c.publisher.status === 'end' ? 0 : 1) + (c.subscriber.status === 'end' ? 0 : 1), 0),
});
