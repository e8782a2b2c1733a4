/**
 * Presence of this transport on each topic it subscribes to: `${root}/topics/${topic}/presence/${writerId}`
 * holds the server time of the (re)subscription while at least one subscription to the topic is open.
 *
 * The entry is removed by the server when the connection drops (`onDisconnect().remove()`, registered
 * before the entry is written, so a drop between the two never leaves an orphan), and by the transport on
 * unsubscribe and close. The server runs the onDisconnect writes once, when the connection drops, so
 * after each reconnection both are registered again (the standard RTDB presence pattern).
 *
 * Presence is informational (who is listening on a topic right now); sealsig's own membership comes from
 * signed hellos (docs/PROTOCOL.md §8), never from this.
 */
import { SealsigError } from '@sealsig/core';
import { onDisconnect, ref, remove, serverTimestamp, set } from 'firebase/database';
import type { Database } from 'firebase/database';
import { presencePath } from './paths.js';

export class Presence {
  /** Topic -> number of open subscriptions of this transport. */
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly database: Database,
    private readonly root: string,
    private readonly writerId: string,
    private readonly report: (error: SealsigError) => void,
  ) {}

  /** Number of topics with a presence entry. */
  /** One more subscription to `topic`; the first one writes the entry. */
  acquire(topic: string): void {
    const n = this.counts.get(topic) ?? 0;
    this.counts.set(topic, n + 1);
    if (n === 0) this.announce(topic);
  }

  /** One subscription fewer; the last one removes the entry and cancels its onDisconnect. */
  release(topic: string): void {
    const n = this.counts.get(topic);
    if (n === undefined) return;
    if (n > 1) {
      this.counts.set(topic, n - 1);
      return;
    }
    this.counts.delete(topic);
    this.withdraw(topic);
  }

  /** After a reconnection: the server dropped the entries and ran the onDisconnects, so announce again. */
  reconnected(): void {
    for (const topic of this.counts.keys()) this.announce(topic);
  }

  /** Removes every entry (close()). */
  clear(): void {
    for (const topic of [...this.counts.keys()]) this.withdraw(topic);
    this.counts.clear();
  }

  /**
   * Not awaited: while offline the SDK queues these writes, and subscribe() must not wait for a server
   * that may be unreachable. Failures (rules refusing the write) are reported.
   */
  private announce(topic: string): void {
    const entry = ref(this.database, presencePath(this.root, topic, this.writerId));
    onDisconnect(entry)
      .remove()
      // Skip the write if the last subscription went away meanwhile: it would outlive it.
      .then(() => (this.counts.has(topic) ? set(entry, serverTimestamp()) : undefined))
      .catch((e: unknown) => this.report(new SealsigError('E_TRANSPORT', `presence on ${topic} failed`, { cause: e })));
  }

  private withdraw(topic: string): void {
    const entry = ref(this.database, presencePath(this.root, topic, this.writerId));
    void onDisconnect(entry)
      .cancel()
      .catch(() => undefined); // the remove below is what matters
    remove(entry).catch((e: unknown) =>
      this.report(new SealsigError('E_TRANSPORT', `removing presence on ${topic} failed`, { cause: e })),
    );
  }
}
