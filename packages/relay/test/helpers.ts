/** Test helpers: a real relay on 127.0.0.1:0 and raw `ws` clients that record what they receive. */
import { WebSocket, type ClientOptions } from 'ws';
import { createRelay, type Relay, type RelayOptions } from '../src/index.js';
import { Op, decodeOutbound, encodeFrameMessage, encodeTopicMessage, type Outbound } from '../src/protocol.js';

export async function startRelay(options: RelayOptions = {}): Promise<{ relay: Relay; url: string; http: string }> {
  const relay = createRelay({ host: '127.0.0.1', port: 0, ...options });
  const { port } = await relay.listen();
  return { relay, url: `ws://127.0.0.1:${port}/`, http: `http://127.0.0.1:${port}` };
}

export interface TestClient {
  ws: WebSocket;
  received: Outbound[];
  closed: Promise<{ code: number; reason: string }>;
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): void;
  publish(topic: string, frame: Uint8Array): void;
  sendRaw(bytes: Uint8Array | string): void;
  delivered(topic?: string): Uint8Array[];
  errors(): { code: number; topic: string; reason: string }[];
  close(): Promise<void>;
}

export async function connect(url: string, options: ClientOptions = {}, protocols: string[] = ['sealsig-relay.1']): Promise<TestClient> {
  const ws = new WebSocket(url, protocols, options);
  ws.binaryType = 'nodebuffer';
  const received: Outbound[] = [];
  ws.on('message', (data: Buffer) => received.push(decodeOutbound(new Uint8Array(data))));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code) => reject(new Error(`closed before open: ${code}`)));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  }).catch(async (e) => {
    // A relay refusal closes right after the upgrade: report the close, let the caller inspect it.
    if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
    throw e;
  });
  const client: TestClient = {
    ws,
    received,
    closed,
    async subscribe(topic) {
      const before = received.length;
      ws.send(encodeTopicMessage(Op.subscribe, topic));
      await waitFor(() =>
        received.slice(before).some((m) => (m.kind === 'subscribed' && m.topic === topic) || (m.kind === 'error' && m.topic === topic)),
      );
    },
    unsubscribe(topic) {
      ws.send(encodeTopicMessage(Op.unsubscribe, topic));
    },
    publish(topic, frame) {
      ws.send(encodeFrameMessage(Op.publish, topic, frame));
    },
    sendRaw(bytes) {
      ws.send(bytes);
    },
    delivered(topic) {
      return received.flatMap((m) => (m.kind === 'deliver' && (topic === undefined || m.topic === topic) ? [m.frame] : []));
    },
    errors() {
      return received.flatMap((m) => (m.kind === 'error' ? [{ code: m.code, topic: m.topic, reason: m.reason }] : []));
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await Promise.race([closed, sleep(1_000).then(() => ws.terminate())]);
    },
  };
  return client;
}

export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A round trip through the relay: once `probe` sees `marker`, everything sent before it was processed. */
export async function roundTrip(sender: TestClient, probe: TestClient, topic: string): Promise<void> {
  const marker = text(`marker-${Math.random()}`);
  sender.publish(topic, marker);
  await waitFor(() => probe.delivered(topic).some((f) => Buffer.from(f).equals(Buffer.from(marker))), 5_000, 'marker');
}
