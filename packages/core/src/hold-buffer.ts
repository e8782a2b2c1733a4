/**
 * Frames held for a sender instance whose hello has not arrived yet (docs/PROTOCOL.md §8.3).
 *
 * Nothing in a held frame is authenticated (its sender id is the sender's claim), so the buffer is bounded
 * in bytes per session, and shared fairly: every one of the at most `maxSenders` senders has a share of
 * `maxBytes / maxSenders` that no other sender can take from it. A sender may hold more than its share while
 * the buffer has room, but those extra bytes are given back (its newest frames evicted) as soon as a sender
 * within its share needs them. An injector that claims many sender ids therefore fills at most its own
 * shares and cannot push out the early frames of a genuine sender that stays within its share.
 */
import type { OpenedBroadcast } from './broadcast.js';
import type { DecodedFrame } from './envelope.js';
import { fail } from './errors.js';

export interface HeldFrame {
  decoded: DecodedFrame;
  opened?: OpenedBroadcast;
  /** Bytes charged to the sender: the frame's length. */
  bytes: number;
}

interface Sender {
  frames: HeldFrame[];
  bytes: number;
  expires: number;
}

export interface HoldLimits {
  /** Bytes held in all (default 1 MiB). */
  maxBytes: number;
  /** Sender instances held at once (default 64). */
  maxSenders: number;
  /** Frames held per sender instance (default 16). */
  maxFramesPerSender: number;
}

export const DEFAULT_HOLD_LIMITS: HoldLimits = { maxBytes: 1 << 20, maxSenders: 64, maxFramesPerSender: 16 };

export class HoldBuffer {
  readonly #limits: HoldLimits;
  /** Each sender's fair share of the bytes. */
  readonly #share: number;
  readonly #senders = new Map<string, Sender>();
  #bytes = 0;

  constructor(limits: HoldLimits = DEFAULT_HOLD_LIMITS) {
    this.#limits = limits;
    this.#share = Math.floor(limits.maxBytes / limits.maxSenders);
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Holds a frame (already copied out of the transport's buffer) for `key` until `expires` (set by the first
   * frame of a sender). Throws E_UNKNOWN_SENDER when the bounds refuse it; returns the number of frames of
   * other senders evicted to make room (each one a lost early frame the session reports).
   */
  add(key: string, frame: HeldFrame, expires: number): number {
    let sender = this.#senders.get(key);
    if (sender === undefined) {
      if (this.#senders.size >= this.#limits.maxSenders) throw this.#refuse('too many unknown senders');
      sender = { frames: [], bytes: 0, expires };
    }
    if (sender.frames.length >= this.#limits.maxFramesPerSender) throw this.#refuse('too many frames from an unknown sender');
    let evicted = 0;
    // Only a sender within its share may take room back from senders beyond theirs.
    const withinShare = sender.bytes + frame.bytes <= this.#share;
    while (withinShare && this.#bytes + frame.bytes > this.#limits.maxBytes) {
      const victim = this.#largestAboveShare(key);
      if (victim === undefined) break;
      const gone = victim.frames.pop()!;
      victim.bytes -= gone.bytes;
      this.#bytes -= gone.bytes;
      evicted++;
    }
    if (this.#bytes + frame.bytes > this.#limits.maxBytes) throw this.#refuse('hold buffer full');
    sender.frames.push(frame);
    sender.bytes += frame.bytes;
    this.#bytes += frame.bytes;
    this.#senders.set(key, sender);
    return evicted;
  }

  /** What `key` holds now. */
  heldBy(key: string): { frames: number; bytes: number } {
    const sender = this.#senders.get(key);
    return { frames: sender?.frames.length ?? 0, bytes: sender?.bytes ?? 0 };
  }

  /** How many senders hold frames. */
  get senders(): number {
    return this.#senders.size;
  }

  /** Removes and returns the frames held for `key`, in arrival order. */
  take(key: string): HeldFrame[] {
    const sender = this.#senders.get(key);
    if (sender === undefined) return [];
    this.#senders.delete(key);
    this.#bytes -= sender.bytes;
    return sender.frames;
  }

  /** Drops every sender whose key starts with `prefix` (a member id in hex: §8.5 expel). */
  dropPrefix(prefix: string): void {
    for (const k of [...this.#senders.keys()]) if (k.startsWith(prefix)) this.take(k);
  }

  /** Removes the senders whose deadline is passed (now > deadline); returns how many frames they held. */
  expire(now: number): number {
    let n = 0;
    for (const [k, s] of this.#senders) {
      if (s.expires >= now) continue; // held for exactly the peer timeout: not expired yet (§8.3)
      n += this.take(k).length;
    }
    return n;
  }

  clear(): void {
    this.#senders.clear();
    this.#bytes = 0;
  }

  /** The sender (other than `except`) holding the most bytes, if it holds more than its share. */
  #largestAboveShare(except: string): Sender | undefined {
    let best: Sender | undefined;
    for (const [k, s] of this.#senders) {
      if (k !== except && s.bytes > this.#share && s.frames.length > 0 && (best === undefined || s.bytes > best.bytes)) best = s;
    }
    return best;
  }

  #refuse(message: string) {
    return fail('E_UNKNOWN_SENDER', message);
  }
}
