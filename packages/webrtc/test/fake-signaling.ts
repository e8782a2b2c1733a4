/**
 * An in-process signaling hub for unit tests: members shaped like a core Session (id, instance, 'peer-joined'
 * replayed to late listeners, 'peer-left' with a reason, 'signal'), delivering each description and
 * candidate in a later task. `hold()` keeps descriptions back (candidates still pass) until `release()`:
 * candidates then arrive before their description. `lose` drops chosen deliveries silently.
 */
import { Emitter, type IceCandidate, type SessionDescription } from '@sealsig/core';
import type { PeerIdentity, Signaling, SignalingEvents } from '../src/signaling.js';

interface Delivery {
  to: string;
  from: PeerIdentity;
  description?: SessionDescription;
  candidate?: IceCandidate | null;
}

export class FakeHub {
  readonly members = new Map<string, FakeMember>();
  /** Every description and candidate sent, in order. */
  readonly sent: Delivery[] = [];
  #held: Delivery[] | undefined;
  #down = false;
  /** A lossy path: deliveries it returns true for are accepted but never arrive. */
  lose: ((d: Delivery) => boolean) | undefined;

  join(id: string, instance = 'i1', meta: unknown = null): FakeMember {
    const m = new FakeMember(this, { id, instance, meta });
    for (const other of this.members.values()) other.fire('peer-joined', m.info);
    this.members.set(id, m);
    return m;
  }

  /** `id` leaves: the others hear 'peer-left' with `reason`. */
  leave(id: string, reason: SignalingEvents['peer-left']['reason']): void {
    const m = this.members.get(id);
    if (!m) return;
    if (reason !== 'timeout') this.members.delete(id);
    for (const other of this.members.values()) if (other !== m) other.fire('peer-left', { peer: m.info, reason });
  }

  /** `id` comes back after a timeout: the others hear 'peer-joined' again. */
  reappear(id: string): void {
    const m = this.members.get(id)!;
    for (const other of this.members.values()) if (other !== m) other.fire('peer-joined', m.info);
  }

  /** The relay is down: everything sent is rejected. */
  set down(down: boolean) {
    this.#down = down;
  }

  hold(): void {
    this.#held = [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const d of held) this.#deliver(d);
  }

  send(d: Delivery): Promise<void> {
    if (this.#down) return Promise.reject(new Error('relay down'));
    this.sent.push(d);
    if (this.lose?.(d)) return Promise.resolve();
    if (this.#held && d.description) this.#held.push(d);
    else this.#deliver(d);
    return Promise.resolve();
  }

  #deliver(d: Delivery): void {
    setTimeout(() => {
      const { to, ...signal } = d;
      this.members.get(to)?.fire('signal', signal);
    }, 0);
  }
}

export class FakeMember extends Emitter<SignalingEvents> implements Signaling {
  readonly id: string;
  /** Like a Room: 'peer-joined' reports members without their instance. */
  withoutInstances = false;
  constructor(
    readonly hub: FakeHub,
    readonly info: PeerIdentity,
  ) {
    super();
    this.id = info.id;
  }

  override on<K extends keyof SignalingEvents>(type: K, listener: (event: SignalingEvents[K]) => void): () => void {
    const off = super.on(type, listener);
    if (type === 'peer-joined') {
      const present = [...this.hub.members.values()].filter((m) => m !== this);
      queueMicrotask(() => present.forEach((m) => (listener as (e: PeerIdentity) => void)(this.#shown(m.info))));
    }
    return off;
  }

  fire<K extends keyof SignalingEvents>(type: K, event: SignalingEvents[K]): void {
    this.emit(type, type === 'peer-joined' ? (this.#shown(event as PeerIdentity) as SignalingEvents[K]) : event);
  }

  #shown(info: PeerIdentity): PeerIdentity {
    return this.withoutInstances ? { id: info.id } : info;
  }

  sendDescription(to: string, description: SessionDescription): Promise<void> {
    return this.hub.send({ to, from: this.info, description });
  }

  sendCandidate(to: string, candidate: IceCandidate | null): Promise<void> {
    return this.hub.send({ to, from: this.info, candidate });
  }
}
