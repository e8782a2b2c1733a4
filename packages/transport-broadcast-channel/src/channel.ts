/**
 * The part of BroadcastChannel this adapter uses, so an app can pass its own constructor (a polyfill, a
 * counting wrapper in tests) and so the typings need no DOM lib.
 */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  addEventListener(type: 'message' | 'messageerror', listener: (event: { data?: unknown }) => void): void;
  removeEventListener(type: 'message' | 'messageerror', listener: (event: { data?: unknown }) => void): void;
}

export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;

/** The platform's BroadcastChannel (browsers, Node >= 18, Deno, Bun), if there is one. */
export function platformBroadcastChannel(): BroadcastChannelConstructor | undefined {
  const ctor = (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
  return typeof ctor === 'function' ? (ctor as BroadcastChannelConstructor) : undefined;
}
