/**
 * Typed errors of the relay's public API (option validation, admission tokens). Stable `code` strings;
 * callers switch on `code`, never on `message`. Bad client input on the wire never throws: it becomes an
 * ERROR message or a close code (PROTOCOL-RELAY.md §4, §5).
 */
export type RelayErrorCode =
  | 'E_INVALID_ARGUMENT' // an option or argument is out of range or of the wrong type
  | 'E_TOKEN_INVALID' // an admission token is malformed, forged or for another secret
  | 'E_TOKEN_EXPIRED' // an admission token's expiry has passed
  | 'E_STATE'; // listen() twice, listen() after close(), ...

/** An error of the relay's API (createRelay, listen, tokens) with a stable code. */
export class RelayError extends Error {
  /** Why it failed. */
  readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: string) {
    super(message);
    this.name = 'RelayError';
    this.code = code;
  }
}

export function invalid(message: string): RelayError {
  return new RelayError('E_INVALID_ARGUMENT', message);
}
