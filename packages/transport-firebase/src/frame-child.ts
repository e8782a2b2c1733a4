/**
 * The JSON child one frame is stored as, and its strict decoding (docs/ADAPTERS.md §1: text channels carry
 * frames as base64url). Anyone with write access can put anything under a topic, so a reader checks the
 * child's shape and sizes before it decodes anything; a bad child becomes a SealsigError, never a throw.
 */
import { SealsigError, base64UrlLength, fromBase64Url, toBase64Url } from '@sealsig/core';
import { serverTimestamp } from 'firebase/database';

/** Longest writer id accepted (the rules allow 32; ours are 22). */
export const MAX_WRITER_ID_LENGTH = 32;

/** The stored child: d = frame as base64url (RFC 4648 §5, no padding), t = server time, w = writer id. */
export interface FrameChild {
  /** The frame, base64url. */
  d: string;
  /** Server time of the write, ms. */
  t: number;
  /** The writer id. */
  w: string;
}

/** The child to push(); `t` is filled in by the server. */
export function encodeFrameChild(frame: Uint8Array, writerId: string): {
  /** The frame, base64url. */
  d: string;
  /** The server timestamp placeholder. */
  t: object;
  /** The writer id. */
  w: string;
} {
  return { d: toBase64Url(frame), t: serverTimestamp(), w: writerId };
}

/** Length of the base64url text (no padding) of `bytes` bytes. */
export const encodedLength = base64UrlLength;

/** A decoded child: its frame and writer, or why it was refused. */
export type DecodedChild = {
  /** Whether the child is well formed. */
  ok: true;
  /** The frame. */
  frame: Uint8Array;
  /** The writer id. */
  writer: string;
} | {
  /** Whether the child is well formed. */
  ok: false;
  /** Why the child was refused. */
  error: SealsigError;
};

const malformed = (key: string | null, why: string): DecodedChild => ({
  ok: false,
  error: new SealsigError('E_FRAME_MALFORMED', `frame child ${key ?? '?'}: ${why}`),
});

/**
 * Validates one child read from the database and decodes its frame. Checks, in order: an object with
 * exactly the keys d, t, w; w a string of at most 32 characters; t a finite number; d a string no longer
 * than the base64url text of `maxFrameBytes` bytes (E_FRAME_TOO_LARGE), and strict base64url.
 */
export function decodeFrameChild(key: string | null, value: unknown, maxFrameBytes: number): DecodedChild {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed(key, 'not an object');
  const keys = Object.keys(value);
  if (keys.length !== 3 || !('d' in value) || !('t' in value) || !('w' in value)) {
    return malformed(key, 'keys are not exactly d, t, w');
  }
  const { d, t, w } = value as Record<string, unknown>;
  if (typeof w !== 'string' || w.length === 0 || w.length > MAX_WRITER_ID_LENGTH) return malformed(key, 'bad writer id');
  if (typeof t !== 'number' || !Number.isFinite(t)) return malformed(key, 'bad timestamp');
  if (typeof d !== 'string') return malformed(key, 'frame is not a string');
  if (d.length > encodedLength(maxFrameBytes)) {
    return {
      ok: false,
      error: new SealsigError('E_FRAME_TOO_LARGE', `frame child ${key ?? '?'}: over ${maxFrameBytes} bytes`),
    };
  }
  const frame = fromBase64Url(d);
  if (frame === undefined) return malformed(key, 'frame is not canonical base64url');
  return { ok: true, frame, writer: w };
}
