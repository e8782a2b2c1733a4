/**
 * This member's own hellos (docs/PROTOCOL.md §6.2): the hello that joins, the heartbeats, and the replies to
 * members that ask for one.
 *
 * A reply is a hello published to the asker's inbox. It need not be signed for the asker: what the asker
 * needs is proof that this member was alive within R (`helloMaxAgeMs`) of its question, and any hello of
 * this member stamped within R does that. So a reply is a copy of this member's latest hello, byte for
 * byte, while that hello is at most R / 2 old (the other half is for the way and the clocks) and sealed
 * under the current epoch; only otherwise is a new one signed, and then copied for the next askers. A join
 * of n members at once thus costs each member about one signature, not one per member that asks.
 */
/** What the announcer needs of its session. */
export interface AnnouncerHost {
  /** Seals a hello broadcast (a new counter, the current epoch, signed): the frame and its header's timestamp and epoch. */
  sealHello(wantReply: boolean): { frame: Uint8Array; timestamp: number; epoch: number };
  publish(frame: Uint8Array, topic: string): Promise<void>;
  now(): number;
  currentEpoch(): number;
  /** R, the largest age of a hello that makes a member live (§6.2). */
  readonly helloMaxAgeMs: number;
}

export class Announcer {
  readonly #h: AnnouncerHost;
  #latest: { frame: Uint8Array; timestamp: number; epoch: number } | undefined;
  /** Hellos signed, and replies sent as copies of a hello already signed. */
  readonly counts = { signed: 0, copied: 0 };

  constructor(host: AnnouncerHost) {
    this.#h = host;
  }

  /** §6.2 Signs and publishes a new hello (the join, a heartbeat, a re-announcement after a gap). */
  announce(wantReply: boolean, topic: string): Promise<void> {
    return this.#h.publish(this.#sign(wantReply), topic);
  }

  /** §6.2 Answers a hello that asked for a reply: the latest hello again while it is fresh, else a new one. */
  reply(inbox: string): Promise<void> {
    const latest = this.#latest;
    const now = this.#h.now();
    if (latest !== undefined && latest.epoch === this.#h.currentEpoch() && now - latest.timestamp <= this.#h.helloMaxAgeMs / 2) {
      this.counts.copied++;
      return this.#h.publish(latest.frame, inbox);
    }
    return this.#h.publish(this.#sign(false), inbox);
  }

  /** Forgets the latest hello (a new epoch: newcomers cannot read it). */
  forget(): void {
    this.#latest = undefined;
  }

  #sign(wantReply: boolean): Uint8Array {
    const sealed = this.#h.sealHello(wantReply);
    this.counts.signed++;
    this.#latest = sealed;
    return sealed.frame;
  }
}
