/**
 * The state half of the transport contract, for adapter authors (docs/ADAPTERS.md §1): the current
 * TransportState and its listeners. A listener hears each change once, in order of registration; one that
 * throws never stops the others nor the adapter (its error goes to `onListenerError`, if given).
 */
import type { TransportState } from './transport.js';

/** Hears each change of a transport's state. */
export type StateListener = (state: TransportState) => void;

/** A transport's current state and its listeners (docs/ADAPTERS.md §1). */
export class TransportStateCell {
  #state: TransportState;
  #listeners = new Set<StateListener>();
  readonly #onListenerError: ((error: unknown) => void) | undefined;

  constructor(initial: TransportState, onListenerError?: (error: unknown) => void) {
    this.#state = initial;
    this.#onListenerError = onListenerError;
  }

  /** The current state. */
  get value(): TransportState {
    return this.#state;
  }

  /** Moves to `next` and tells every listener; does nothing if the state is already `next`. */
  set(next: TransportState): void {
    if (next === this.#state) return;
    this.#state = next;
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch (e) {
        this.#onListenerError?.(e);
      }
    }
  }

  /** Adds a listener (the Transport's onStateChange); returns the function that removes it. */
  listen(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Drops every listener (after close). */
  clear(): void {
    this.#listeners.clear();
  }
}
