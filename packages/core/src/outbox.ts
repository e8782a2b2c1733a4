/**
 * What a member publishes of its own (docs/PROTOCOL.md §4.1, §6.1, §6.2, §6.5): headers stamped with its
 * id, instance, epoch and clock, the broadcasts it signs under the current epoch (its hellos with their
 * admission work among them), and the way out to the transport. It holds the member's signing key.
 */
import { solveWork } from './admission.js';
import { BroadcastType, sealBroadcast } from './broadcast.js';
import type { EpochRing } from './epochs.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, type Header } from './envelope.js';
import { SealsigError, fail } from './errors.js';
import type { Endpoint } from './pairwise.js';
import { memzero, type KeyPair } from './sodium.js';
import type { Transport } from './transport.js';

export interface OutboxParts {
  transport: Transport;
  route: Uint8Array;
  self: Endpoint;
  /** Copied by the caller; erased by erase(). */
  signing: KeyPair;
  dhPublic: Uint8Array;
  meta: unknown;
  helloWork: number;
  epochs: EpochRing;
  stats: { framesOut: number };
  maxFrameBytes: number;
  now: () => number;
  closed: () => boolean;
}

export class Outbox {
  readonly #p: OutboxParts;
  /** §6.3 The next broadcast counter: one sequence across every epoch. */
  #counter = 0;

  constructor(parts: OutboxParts) {
    this.#p = parts;
  }

  /** §6.5 The admission work (bits) put into hellos asking for replies. */
  get helloWork(): number {
    return this.#p.helloWork;
  }

  set helloWork(bits: number) {
    this.#p.helloWork = bits;
  }

  /** §4.1 A header of this member's, stamped now. */
  header(kind: FrameKind, recipient: Uint8Array | null, counter: number, epoch = this.#p.epochs.current.epoch): Header {
    const p = this.#p;
    return { version: PROTOCOL_VERSION, suite: SUITE_V1, kind, route: p.route, sender: p.self.id, instance: p.self.instance, recipient, epoch, counter, timestamp: p.now() };
  }

  /** A broadcast-kind frame (§6): on the session topic, or to one peer's inbox (a hello reply, an init request). */
  async broadcast(type: number, payload: unknown, topic: string): Promise<void> {
    await this.publish(this.#seal(this.header(FrameKind.broadcast, null, this.#counter++), type, payload), topic);
  }

  /** §6.2 A new hello, signed now; one asking for replies carries admission work (§6.5) when this member puts any in. */
  sealHello(wantReply: boolean): { frame: Uint8Array; timestamp: number; epoch: number } {
    const p = this.#p;
    const header = this.header(FrameKind.broadcast, null, this.#counter++);
    const work = wantReply ? solveWork(p.route, p.self.id, p.self.instance, header.timestamp, p.helloWork) : null;
    const frame = this.#seal(header, BroadcastType.hello, [p.signing.publicKey, p.dhPublic, wantReply, p.meta, work]);
    return { frame, timestamp: header.timestamp, epoch: header.epoch };
  }

  /** Publishes a frame: E_FRAME_TOO_LARGE over the session's maximum, E_TRANSPORT if the transport fails. */
  async publish(frame: Uint8Array, topic: string): Promise<void> {
    const p = this.#p;
    if (frame.length > p.maxFrameBytes) throw fail('E_FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${p.maxFrameBytes}`);
    p.stats.framesOut++;
    try {
      await p.transport.publish(topic, frame);
    } catch (e) {
      throw e instanceof SealsigError ? e : fail('E_TRANSPORT', 'publish failed', e);
    }
  }

  /** Erases the signing key. */
  erase(): void {
    memzero(this.#p.signing.privateKey);
  }

  /** §6.1 Seals and signs a broadcast under the current epoch. */
  #seal(header: Header, type: number, payload: unknown): Uint8Array {
    if (this.#p.closed()) throw fail('E_CLOSED', 'session is closed');
    return sealBroadcast({ header, key: this.#p.epochs.current.broadcastKey, signingKey: this.#p.signing.privateKey, type, payload });
  }
}
