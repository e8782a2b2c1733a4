/**
 * Reassembly of chunked frames (src/wire.ts), bounded so that no sequence of chunks, hostile or lost,
 * makes memory grow past the configured limits (docs/PROTOCOL.md §8.4):
 *
 * - at most `maxPending` frames are in reassembly at once, holding at most `maxPendingBytes` of chunk
 *   data in total (counted as received, never pre-allocated from a header's claims);
 * - a frame not complete `timeoutMs` after its first chunk is dropped and its memory freed;
 * - a chunk that disagrees with its frame's first chunk (count, total), would overflow the total, or
 *   arrives when the limits are reached is dropped with a typed error; a repeated index is ignored, and
 *   so is a late copy of a chunk of a frame completed within the last `timeoutMs` (ids remembered: at
 *   most 8 × maxPending), so an honestly duplicating service does not leave stray partial frames.
 */
import { SealsigError } from '@sealsig/core';
import type { Chunk } from './wire.js';

/** Bounds of a Reassembler. */
export interface ReassemblyLimits {
  /** Frames in reassembly at once (default 32). */
  maxPending: number;
  /** Chunk bytes held at once, over all pending frames (default 1 MiB). */
  maxPendingBytes: number;
  /** How long a frame may stay incomplete, in ms (default 10 000). */
  timeoutMs: number;
}

/** The default reassembly bounds: 32 frames, 1 MiB, 10 s. */
export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxPending: 32, maxPendingBytes: 1024 * 1024, timeoutMs: 10_000 };

interface Pending {
  key: string;
  count: number;
  total: number;
  parts: Map<number, Uint8Array>;
  bytes: number;
  timer: ReturnType<typeof setTimeout>;
}

/** What add() did with a chunk. */
export type AddResult =
  | {
    /** What happened to the chunk. */
    status: 'complete';
    /** The reassembled frame. */
    frame: Uint8Array;
  }
  | {
    /** What happened to the chunk. */
    status: 'pending';
  }
  | {
    /** What happened to the chunk. */
    status: 'duplicate';
  }
  | {
    /** What happened to the chunk. */
    status: 'dropped';
    /** Why it was dropped. */
    error: SealsigError;
  };

/** Reassembles chunked frames within its bounds; drops the incomplete and the oversized. */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  /** Keys of recently completed frames, with the time they completed (insertion order = age). */
  private readonly completed = new Map<string, number>();
  private bytes = 0;
  private closed = false;

  /** `onTimeout` hears of every frame dropped incomplete (with an E_STALE error). */
  constructor(
    private readonly limits: ReassemblyLimits,
    private readonly onTimeout: (error: SealsigError) => void = () => undefined,
  ) {}

  /** Frames currently in reassembly. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Chunk bytes currently held. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Adds one validated chunk (decodeMessage() checked index < count <= total and data <= total). */
  add(scope: string, chunk: Chunk): AddResult {
    if (this.closed) return { status: 'dropped', error: new SealsigError('E_CLOSED', 'reassembler closed') };
    if (chunk.count === 1) {
      // A one-chunk frame needs no buffer: complete at once if it is whole.
      if (chunk.data.length !== chunk.total) return drop('E_FRAME_MALFORMED', `a single chunk of ${chunk.data.length} bytes for ${chunk.total}`);
      return { status: 'complete', frame: chunk.data };
    }
    const key = `${scope}\u0000${chunk.id}`;
    let entry = this.pending.get(key);
    if (!entry && this.recentlyCompleted(key)) return { status: 'duplicate' };
    if (entry) {
      if (entry.count !== chunk.count || entry.total !== chunk.total) {
        return drop('E_FRAME_MALFORMED', `chunk says ${chunk.count} chunks / ${chunk.total} bytes, its frame ${entry.count} / ${entry.total}`);
      }
      if (entry.parts.has(chunk.index)) return { status: 'duplicate' };
      if (entry.bytes + chunk.data.length > entry.total) return drop('E_FRAME_MALFORMED', `chunks exceed the frame's ${entry.total} bytes`);
    } else if (this.pending.size >= this.limits.maxPending) {
      return drop('E_QUEUE_FULL', `${this.pending.size} frames already in reassembly`);
    }
    if (this.bytes + chunk.data.length > this.limits.maxPendingBytes) {
      return drop('E_QUEUE_FULL', `reassembly buffers hold ${this.bytes} bytes; limit ${this.limits.maxPendingBytes}`);
    }
    if (!entry) {
      const timer = setTimeout(() => this.expire(key), this.limits.timeoutMs);
      (timer as { unref?: () => void }).unref?.();
      entry = { key, count: chunk.count, total: chunk.total, parts: new Map(), bytes: 0, timer };
      this.pending.set(key, entry);
    }
    entry.parts.set(chunk.index, chunk.data);
    entry.bytes += chunk.data.length;
    this.bytes += chunk.data.length;
    if (entry.parts.size < entry.count) return { status: 'pending' };

    this.remove(entry);
    this.remember(key);
    if (entry.bytes !== entry.total) return drop('E_FRAME_MALFORMED', `chunks hold ${entry.bytes} bytes, the frame ${entry.total}`);
    const frame = new Uint8Array(entry.total);
    let offset = 0;
    for (let i = 0; i < entry.count; i++) {
      const part = entry.parts.get(i)!;
      frame.set(part, offset);
      offset += part.length;
    }
    return { status: 'complete', frame };
  }

  private recentlyCompleted(key: string): boolean {
    const at = this.completed.get(key);
    if (at === undefined) return false;
    if (Date.now() - at <= this.limits.timeoutMs) return true;
    this.completed.delete(key);
    return false;
  }

  private remember(key: string): void {
    this.completed.set(key, Date.now());
    const cutoff = Date.now() - this.limits.timeoutMs;
    for (const [old, at] of this.completed) {
      if (this.completed.size <= 8 * this.limits.maxPending && at >= cutoff) break;
      this.completed.delete(old);
    }
  }

  /** Drops every pending frame of `scope` (a topic that was unsubscribed). */
  dropScope(scope: string): void {
    const prefix = `${scope}\u0000`;
    for (const entry of [...this.pending.values()]) if (entry.key.startsWith(prefix)) this.remove(entry);
  }

  /** Frees everything and stops every timer. */
  close(): void {
    this.closed = true;
    for (const entry of [...this.pending.values()]) this.remove(entry);
    this.completed.clear();
  }

  private expire(key: string): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.remove(entry);
    this.onTimeout(new SealsigError('E_STALE', `chunked frame incomplete after ${this.limits.timeoutMs} ms (${entry.parts.size} of ${entry.count} chunks)`));
  }

  private remove(entry: Pending): void {
    clearTimeout(entry.timer);
    if (this.pending.get(entry.key) === entry) {
      this.pending.delete(entry.key);
      this.bytes -= entry.bytes;
    }
  }
}

function drop(code: 'E_FRAME_MALFORMED' | 'E_QUEUE_FULL', message: string): AddResult {
  return { status: 'dropped', error: new SealsigError(code, message) };
}
