/**
 * Who is in the session, as this member sees it (docs/PROTOCOL.md §6.2, §8.1, §8.5): the live instance of
 * each member, the instances that left (remembered while a replay of their frames could still be fresh; a
 * timed-out one with its state, so that it can resume), and the members expelled for the session's life.
 */
import { toBase64Url, toHex } from './bytes.js';
import { endpointKey, eraseChannel, type Peer } from './peer.js';

interface Departed {
  until: number;
  /** Its last broadcast counter (its bye's, when it said goodbye): a copy of that frame is a duplicate. */
  last: number;
  /** A peer removed for silence, kept whole so that its next hello resumes it (§8.1). */
  resumable?: Peer;
}

export class Presence {
  /** The live instance of each member, by member id (base64url). */
  readonly #live = new Map<string, Peer>();
  /** Instances that left, by endpointKey. */
  readonly #departed = new Map<string, Departed>();
  /** Member ids (hex) whose frames are refused for the session's lifetime (§8.5). */
  readonly #expelled = new Set<string>();

  get size(): number {
    return this.#live.size;
  }

  peers(): IterableIterator<Peer> {
    return this.#live.values();
  }

  /** The live instance of a member, by its base64url id. */
  get(id: string): Peer | undefined {
    return this.#live.get(id);
  }

  /** The live instance of the sender's member (maybe another instance). */
  member(sender: Uint8Array): Peer | undefined {
    return this.#live.get(toBase64Url(sender));
  }

  /** What is remembered of this instance if it left (§8.1). */
  departed(sender: Uint8Array, instance: Uint8Array): Departed | undefined {
    return this.#departed.size === 0 ? undefined : this.#departed.get(endpointKey(sender, instance));
  }

  isLive(peer: Peer): boolean {
    return this.#live.get(peer.info.id) === peer;
  }

  isExpelled(sender: Uint8Array): boolean {
    return this.#expelled.size > 0 && this.#expelled.has(toHex(sender));
  }

  /** Makes an instance the live one of its member (a new peer, or one resuming after a timeout). */
  admit(peer: Peer): void {
    this.#departed.delete(endpointKey(peer.endpoint.id, peer.endpoint.instance));
    this.#live.set(peer.info.id, peer);
  }

  /**
   * Removes a live instance; remembers it as departed until `until`, whole if `resumable`. Returns false if
   * it was not the live instance.
   */
  remove(peer: Peer, until: number, resumable: boolean): boolean {
    if (!this.isLive(peer)) return false;
    this.#live.delete(peer.info.id);
    const last = peer.window.highest;
    this.#departed.set(endpointKey(peer.endpoint.id, peer.endpoint.instance), resumable ? { until, last, resumable: peer } : { until, last });
    return true;
  }

  /** §8.5 Refuses a member id for good; its departed instances can no longer resume (their keys are erased). */
  expel(idHex: string): void {
    this.#expelled.add(idHex);
    for (const [k, gone] of this.#departed) {
      if (!k.startsWith(idHex) || gone.resumable === undefined) continue;
      eraseChannel(gone.resumable);
      this.#departed.set(k, { until: gone.until, last: gone.last });
    }
  }

  /** Forgets departed instances whose time is up, erasing the state kept for a resume. */
  expire(now: number): void {
    for (const [k, gone] of this.#departed) {
      if (gone.until > now) continue;
      this.#departed.delete(k);
      if (gone.resumable) eraseChannel(gone.resumable);
    }
  }

  /** Erases the state kept for departed instances (the live ones are removed by the session, with events). */
  clear(): void {
    for (const gone of this.#departed.values()) if (gone.resumable) eraseChannel(gone.resumable);
    this.#departed.clear();
  }
}
