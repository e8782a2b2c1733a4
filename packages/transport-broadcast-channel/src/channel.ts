/**
 * The part of BroadcastChannel this adapter uses, so an app can pass its own constructor (a polyfill, a
 * counting wrapper in tests) and so the typings need no DOM lib.
 */
export interface BroadcastChannelLike {
  /** Posts a message to every other instance of the channel. */
  postMessage(message: unknown): void;
  /** Closes the channel. */
  close(): void;
  /** Adds a listener for messages, or for messages that could not be deserialized. */
  addEventListener(type: 'message' | 'messageerror', listener: (event: { data?: unknown }) => void): void;
  /** Removes a listener. */
  removeEventListener(type: 'message' | 'messageerror', listener: (event: { data?: unknown }) => void): void;
}

/** A BroadcastChannel constructor (the platform's, or a polyfill). */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;

/** The platform's BroadcastChannel (browsers, Node >= 18, Deno, Bun), if there is one. */
export function platformBroadcastChannel(): BroadcastChannelConstructor | undefined {
  const ctor = (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
  return typeof ctor === 'function' ? (ctor as BroadcastChannelConstructor) : undefined;
}
