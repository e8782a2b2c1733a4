/**
 * Test helpers: a relay from @sealsig/relay on 127.0.0.1 (port 0 unless given), a WebSocket constructor
 * that records the sockets it made (to break them like a network failure would, and to count open ones),
 * a real redis-server on a free port (the shared spawner), and small waiting utilities. Nothing here is a fake.
 */
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

export { freePort, startRedis } from '@sealsig/transport-conformance';
