/**
 * Test helpers: a relay from @sealsig/relay on 127.0.0.1 (port 0 unless given), a WebSocket constructor
 * that records the sockets it made (to break them like a network failure would, and to count open ones),
 * a real redis-server on a free port, and small waiting utilities. Nothing here is a fake.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRelay, type RelayOptions } from '@sealsig/relay';
import { resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from '../src/socket.js';

export type Relay = ReturnType<typeof createRelay>;

export interface RunningRelay {
  relay: Relay;
  port: number;
  url: string;
}

/** Starts a relay on 127.0.0.1; `port` 0 (default) picks a free one. */
export async function startRelay(options: RelayOptions = {}, port = 0): Promise<RunningRelay> {
  const relay = createRelay({ host: '127.0.0.1', port, drainTimeoutMs: 200, ...options });
  const address = await relay.listen();
  return { relay, port: address.port, url: `ws://127.0.0.1:${address.port}/` };
}

/** A WebSocket constructor (the `ws` package) that keeps every socket it created. */
export async function trackingWebSocket(): Promise<{ WebSocket: WebSocketConstructor; sockets: Set<WebSocketLike> }> {
  const { WebSocket: Base } = await resolveWebSocket(undefined);
  const sockets = new Set<WebSocketLike>();
  function Tracked(url: string, protocols?: string | string[]): WebSocketLike {
    const socket = new Base(url, protocols);
    sockets.add(socket);
    return socket;
  }
  return { WebSocket: Tracked as unknown as WebSocketConstructor, sockets };
}

/** Drops a socket without a closing handshake, as a dead network would (`ws` terminate()). */
export function terminate(socket: WebSocketLike): void {
  (socket as unknown as { terminate(): void }).terminate();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A TCP port that was free a moment ago (for services that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** Spawns `redis-server` on a free port (no persistence) and waits until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await ping(port)) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start');
      await sleep(20);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}

async function ping(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => (socket.destroy(), resolve(d.toString().startsWith('+PONG'))));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}
