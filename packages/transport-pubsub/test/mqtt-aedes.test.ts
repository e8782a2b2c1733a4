/** The conformance suite over MQTT: mqtt.js 5 against an in-process aedes 1.2 broker. */
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createPubSubTransport, mqttClient } from '../src/index.js';
import { startAedes } from './services.js';
import type { Service } from './services.js';

let broker: Service | undefined;
const clients = new Map<Transport, MqttClient>();

transportConformance('pubsub: mqtt (aedes)', {
  async setup() {
    broker = await startAedes();
  },
  async teardown() {
    await Promise.allSettled([...clients.values()].map((c) => c.endAsync(true)));
    await broker?.stop();
  },
  async create() {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 200, connectTimeout: 5000 });
    const transport = createPubSubTransport(mqttClient(client, { closeClient: true }));
    clients.set(transport, client);
    return transport;
  },
  selfEcho: true, // MQTT 3.1.1 delivers a client's own publishes to its subscriptions
  oversize: 'chunked',
  async disrupt(transport) {
    clients.get(transport)!.stream.destroy(); // the socket dies as in a network failure; mqtt.js reconnects
  },
  openResources: () => [...clients.values()].filter((c) => !c.disconnected && !c.disconnecting).length,
});
