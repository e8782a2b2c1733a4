/**
 * The WebSocket this client needs, as a structural type both WHATWG WebSocket (browsers, Deno, Node 22+)
 * and the `ws` package satisfy, and how the constructor is found: the `WebSocket` option, else
 * globalThis.WebSocket, else `ws` loaded on demand with a dynamic import (so browser bundles that never
 * reach that branch need not carry it).
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
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
