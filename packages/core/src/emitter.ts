/** A minimal typed event emitter that runs in Node and browsers. A throwing listener never breaks delivery. */
export type Listener<T> = (event: T) => void;

/** A typed event emitter: `Events` maps each event name to its payload type. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener for `type`; returns a function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Adds a listener that hears the next `type` event only; returns a function that removes it. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (e) => {
      off();
      listener(e);
    });
    return off;
  }

  /** Removes a listener added with on() or once(). */
  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Calls every listener of `type` with `event`; a throwing listener's error is rethrown in a microtask. */
  protected emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.#listeners.get(type);
    if (set === undefined) return;
    for (const l of [...set]) {
      try {
        (l as Listener<Events[K]>)(event);
      } catch (err) {
        // A listener's bug must not stop the protocol; surface it asynchronously like an unhandled error.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** How many listeners `type` has. */
  protected listenerCount<K extends keyof Events>(type: K): number {
    return this.#listeners.get(type)?.size ?? 0;
  }

  /** Removes every listener of every event. */
  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}
