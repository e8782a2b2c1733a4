/**
 * The one error class of sealsig, with stable codes (docs/PROTOCOL.md §10).
 * Codes are part of the public API: never rename one, only add.
 */
export const ErrorCodes = {
  /** The frame is not a well-formed, canonical sealsig envelope. */
  E_FRAME_MALFORMED: 'E_FRAME_MALFORMED',
  /** The frame (or a value to send) is larger than the configured maximum. */
  E_FRAME_TOO_LARGE: 'E_FRAME_TOO_LARGE',
  /** The protocol version or cipher suite is not one this implementation speaks. */
  E_VERSION: 'E_VERSION',
  /** AEAD or signature verification failed: tampered, forged, or sealed under another key. */
  E_AUTH_FAILED: 'E_AUTH_FAILED',
  /** A frame already accepted, or older than the replay window. */
  E_REPLAY: 'E_REPLAY',
  /** The frame's timestamp lies outside the freshness bounds. */
  E_STALE: 'E_STALE',
  /** No key for the sender: it never said hello, or left. */
  E_UNKNOWN_SENDER: 'E_UNKNOWN_SENDER',
  /** The frame is sealed under an epoch whose key this member does not hold (any more). */
  E_EPOCH: 'E_EPOCH',
  /** A Noise handshake message was out of place or failed. */
  E_HANDSHAKE: 'E_HANDSHAKE',
  /** The destination peer is not a live member of the session. */
  E_UNKNOWN_PEER: 'E_UNKNOWN_PEER',
  /** An argument given by the application is invalid. */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  /** The session or object was closed. */
  E_CLOSED: 'E_CLOSED',
  /** The transport failed to subscribe or publish. */
  E_TRANSPORT: 'E_TRANSPORT',
  /** A bounded queue is full. */
  E_QUEUE_FULL: 'E_QUEUE_FULL',
  /** Refused by a rate limit (e.g. password attempts per joiner); retry later. */
  E_RATE_LIMITED: 'E_RATE_LIMITED',
  /** Refused by whoever decides: a moderator rejected a join, a member was kicked, a request was denied. */
  E_ACCESS_DENIED: 'E_ACCESS_DENIED',
  /** The password did not match (a PAKE run failed its key confirmation). */
  E_WRONG_PASSWORD: 'E_WRONG_PASSWORD',
  /** No answer in the time allowed (a join request, a privilege request). */
  E_TIMEOUT: 'E_TIMEOUT',
  /** The application aborted the operation (its AbortSignal fired). */
  E_ABORTED: 'E_ABORTED',
} as const;

/** One of the ErrorCodes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Every error sealsig throws or emits: a stable `code` and a message that says why. */
export class SealsigError extends Error {
  /** Always 'SealsigError'. */
  override readonly name = 'SealsigError';
  /** The stable error code (ErrorCodes). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

/** Whether `e` is a SealsigError, with `code` if given. */
export function isSealsigError(e: unknown, code?: ErrorCode): e is SealsigError {
  return e instanceof SealsigError && (code === undefined || e.code === code);
}

/** Shorthand used by decoders: `throw fail('E_FRAME_MALFORMED', '...')`. */
export function fail(code: ErrorCode, message: string, cause?: unknown): SealsigError {
  return new SealsigError(code, message, cause === undefined ? undefined : { cause });
}
