/**
 * The WebSocket this client needs, as a structural type both WHATWG WebSocket (browsers, Deno, Node 22+)
 * and the `ws` package satisfy, and how the constructor is found: the `WebSocket` option, else
 * globalThis.WebSocket, else `ws` loaded on demand with a dynamic import (so browser bundles that never
 * reach that branch need not carry it).
 */
export interface WebSocketLike {
  /** Set to 'arraybuffer' by the transport. */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** The subprotocol the server chose. */
  readonly protocol: string;
  /** Sends a binary message. */
  send(data: Uint8Array): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
  /** Called once the connection is open. */
  onopen: ((event: unknown) => void) | null;
  /** Called with each message. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Called once the connection is closed. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Called on a connection error. */
  onerror: ((event: unknown) => void) | null;
}

/** `new WebSocket(url, protocols)`; the `ws` package also takes a third options argument. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

export const OPEN = 1;
export const CLOSED = 3;

export interface ResolvedConstructor {
  WebSocket: WebSocketConstructor;
  /** True for the `ws` package loaded here: it accepts `{ maxPayload }` and has terminate(). */
  isWs: boolean;
}

let wsModule: Promise<WebSocketConstructor> | undefined;

async function loadWs(): Promise<WebSocketConstructor> {
  const mod = (await import('ws')) as unknown as { default?: unknown; WebSocket?: unknown };
  return (mod.WebSocket ?? mod.default) as WebSocketConstructor;
}

export async function resolveWebSocket(option: WebSocketConstructor | undefined): Promise<ResolvedConstructor> {
  if (option) return { WebSocket: option, isWs: false };
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return { WebSocket: global, isWs: false };
  wsModule ??= loadWs();
  return { WebSocket: await wsModule, isWs: true };
}
