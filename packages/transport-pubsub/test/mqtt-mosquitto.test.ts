/**
 * The conformance suite over MQTT: mqtt.js 5 against a real mosquitto 2 on a free port. The binding is
 * told to send messages of at most 16 KiB and mosquitto refuses packets over 20 000 bytes, so frames
 * above 16 KiB only arrive because the transport chunks and reassembles them.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { Transport } from '@sealsig/core';
import { transportConformance } from '@sealsig/transport-conformance';
import { createPubSubTransport, mqttClient } from '../src/index.js';
import type { PubSubTransport } from '../src/index.js';
import { startMosquitto } from './services.js';
import type { Service } from './services.js';

let broker: Service | undefined;
const clients = new Map<Transport, MqttClient>();

transportConformance('pubsub: mqtt (mosquitto, 16 KiB messages)', {
  async setup() {
    broker = await startMosquitto(undefined, ['max_packet_size 20000']);
  },
  async teardown() {
    await Promise.allSettled([...clients.values()].map((c) => c.endAsync(true)));
    await broker?.stop();
  },
  async create() {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { reconnectPeriod: 200, connectTimeout: 5000 });
    const transport = createPubSubTransport(mqttClient(client, { closeClient: true, maxMessageBytes: 16 * 1024 }));
    clients.set(transport, client);
    return transport;
  },
  selfEcho: true,
  oversize: 'chunked',
  async disrupt(transport) {
    clients.get(transport)!.stream.destroy();
  },
  openResources: () => [...clients.values()].filter((c) => !c.disconnected && !c.disconnecting).length,
});

describe('pubsub: mqtt (mosquitto) chunking', () => {
  it('carries a 60 KiB frame as four messages under the broker\'s 20 000-byte packet limit', async () => {
    const local = await startMosquitto(undefined, ['max_packet_size 20000']);
    const url = `mqtt://127.0.0.1:${local.port}`;
    const a = createPubSubTransport(mqttClient(await mqtt.connectAsync(url), { closeClient: true, maxMessageBytes: 16 * 1024 })) as PubSubTransport;
    const b = createPubSubTransport(mqttClient(await mqtt.connectAsync(url), { closeClient: true, maxMessageBytes: 16 * 1024 })) as PubSubTransport;
    try {
      const received: Uint8Array[] = [];
      await b.subscribe('chunked', (f) => received.push(f));
      const frame = crypto.getRandomValues(new Uint8Array(60 * 1024));
      await a.publish('chunked', frame);
      await expect.poll(() => received.length, { timeout: 5000 }).toBe(1);
      expect(received[0]).toEqual(frame);
      expect(a.stats.messagesOut).toBe(4);
      expect(b.stats.messagesIn).toBe(4);
      expect(b.stats.pendingFrames).toBe(0);
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
      await local.stop();
    }
  });
});
