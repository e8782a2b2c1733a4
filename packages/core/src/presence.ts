/**
 * Who is in the session, as this member sees it (docs/PROTOCOL.md §6.2, §6.4, §8.1, §8.5): the live instance
 * of each member, the instances that left (remembered while a replay of their frames could still be fresh; a
 * timed-out one with its state, so that it can resume), the limits of each member id present or recently
 * departed (members.ts), and the members expelled for the session's life.
 */
import { fromHex, toBase64Url, toHex } from './bytes.js';
import { MemberLimits } from './members.js';
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
  /** §6.4 Limits per member id (base64url), while an instance of the member is live or departed. */
  readonly #limits = new Map<string, MemberLimits>();
  readonly #handshakeRetryMs: number;

  constructor(handshakeRetryMs: number) {
    this.#handshakeRetryMs = handshakeRetryMs;
  }

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

  /** §6.4 The limits of a member id (base64url), if it has a live or departed instance. */
  limitsOf(id: string): MemberLimits | undefined {
    return this.#limits.get(id);
  }

  /** §6.4 The limits of a member id, made if it has none yet. */
  limits(id: string, now: number): MemberLimits {
    let limits = this.#limits.get(id);
    if (limits === undefined) this.#limits.set(id, (limits = new MemberLimits(this.#handshakeRetryMs, now)));
    return limits;
  }

  /** Makes an instance the live one of its member (a new peer, or one resuming after a timeout). */
  admit(peer: Peer, now: number): void {
    this.#departed.delete(endpointKey(peer.endpoint.id, peer.endpoint.instance));
    this.#live.set(peer.info.id, peer);
    this.limits(peer.info.id, now).until = Number.POSITIVE_INFINITY;
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
    const limits = this.#limits.get(peer.info.id);
    if (limits !== undefined) limits.until = until; // kept as long as the departed instance is remembered
    return true;
  }

  /** §8.5 Refuses a member id for good; its departed instances can no longer resume (their keys are erased). */
  expel(idHex: string): void {
    this.#expelled.add(idHex);
    const id = toBase64Url(fromHex(idHex));
    this.#limits.get(id)?.clear();
    this.#limits.delete(id);
    for (const [k, gone] of this.#departed) {
      if (!k.startsWith(idHex) || gone.resumable === undefined) continue;
      eraseChannel(gone.resumable);
      this.#departed.set(k, { until: gone.until, last: gone.last });
    }
  }

  /** Forgets departed instances whose time is up, erasing the state kept for a resume, and their members' limits. */
  expire(now: number): void {
    for (const [k, gone] of this.#departed) {
      if (gone.until > now) continue;
      this.#departed.delete(k);
      if (gone.resumable) eraseChannel(gone.resumable);
    }
    for (const [id, limits] of this.#limits) {
      if (limits.until > now || this.#live.has(id)) continue;
      limits.clear();
      this.#limits.delete(id);
    }
  }

  /** Erases the state kept for departed instances (the live ones are removed by the session, with events). */
  clear(): void {
    for (const gone of this.#departed.values()) if (gone.resumable) eraseChannel(gone.resumable);
    this.#departed.clear();
    for (const limits of this.#limits.values()) limits.clear();
    this.#limits.clear();
  }
}
