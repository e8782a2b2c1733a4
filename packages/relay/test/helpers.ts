/** Test helpers: a real relay on 127.0.0.1:0 and raw `ws` clients that record what they receive. */
import { WebSocket, type ClientOptions } from 'ws';
import { createRelay, type Relay, type RelayOptions } from '../src/index.js';
import type { Position } from '../src/engine.js';
import { Op, SUBPROTOCOL, decodeOutbound, encodePublish, encodeSubscribe, encodeTopicMessage, type AnnouncedLimits, type Outbound } from '../src/protocol.js';

export async function startRelay(options: RelayOptions = {}): Promise<{ relay: Relay; url: string; http: string }> {
  const relay = createRelay({ host: '127.0.0.1', port: 0, ...options });
  const { port } = await relay.listen();
  return { relay, url: `ws://127.0.0.1:${port}/`, http: `http://127.0.0.1:${port}` };
}

export interface TestClient {
  ws: WebSocket;
  /** What the relay sent, but LIMITS (§3.5), which is in `limits`. */
  received: Outbound[];
  /** The LIMITS messages received (§3.5): one, first, on an admitted connection. */
  limits: AnnouncedLimits[];
  closed: Promise<{ code: number; reason: string }>;
  /** SUBSCRIBE (from `since`, §3.4); resolves with SUBSCRIBED's recovered flag, or false after an ERROR. */
  subscribe(topic: string, since?: Position): Promise<boolean>;
  unsubscribe(topic: string): void;
  publish(topic: string, frame: Uint8Array): void;
  sendRaw(bytes: Uint8Array | string): void;
  delivered(topic?: string): Uint8Array[];
  /** The position of the last DELIVER on `topic`. */
  position(topic: string): Position | undefined;
  /** Highest ACK received (0 before any). */
  acked(): number;
  nacks(): { seq: number; code: number }[];
  errors(): { code: number; topic: string; reason: string }[];
  close(): Promise<void>;
}

export async function connect(url: string, options: ClientOptions = {}, protocols: string[] = [SUBPROTOCOL]): Promise<TestClient> {
  const ws = new WebSocket(url, protocols, options);
  ws.binaryType = 'nodebuffer';
  const received: Outbound[] = [];
  const limits: AnnouncedLimits[] = [];
  ws.on('message', (data: Buffer) => {
    const m = decodeOutbound(new Uint8Array(data));
    if (m.kind === 'limits') limits.push(m.limits);
    else received.push(m);
  });
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
    limits,
    closed,
    async subscribe(topic, since) {
      const before = received.length;
      ws.send(encodeSubscribe(topic, since));
      const answer = (): Outbound | undefined => received.slice(before).find((m) => (m.kind === 'subscribed' || m.kind === 'error') && m.topic === topic);
      await waitFor(() => answer() !== undefined);
      const a = answer()!;
      return a.kind === 'subscribed' && a.recovered;
    },
    unsubscribe(topic) {
      ws.send(encodeTopicMessage(Op.unsubscribe, topic));
    },
    publish(topic, frame) {
      ws.send(encodePublish(topic, frame));
    },
    sendRaw(bytes) {
      ws.send(bytes);
    },
    delivered(topic) {
      return received.flatMap((m) => (m.kind === 'deliver' && (topic === undefined || m.topic === topic) ? [m.frame] : []));
    },
    position(topic) {
      for (let i = received.length - 1; i >= 0; i--) {
        const m = received[i]!;
        if (m.kind === 'deliver' && m.topic === topic) return m.position;
      }
      return undefined;
    },
    acked() {
      return received.reduce((n, m) => (m.kind === 'ack' ? Math.max(n, m.seq) : n), 0);
    },
    nacks() {
      return received.flatMap((m) => (m.kind === 'nack' ? [{ seq: m.seq, code: m.code }] : []));
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

export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
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
