/**
 * base64url (RFC 4648 §5, no padding) for text-only services, with a size limit checked before decoding:
 * a string longer than the largest valid message's encoding is refused without allocating anything.
 */
import { SealsigError, base64UrlLength, fromBase64Url, toBase64Url } from '@sealsig/core';

export { base64UrlLength };

/** Bytes that `chars` characters of base64url can carry. */
export function base64UrlCapacity(chars: number): number {
  return Math.floor((chars * 3) / 4);
}

/** A message as base64url text, for text-only services. */
export function encodeText(message: Uint8Array): string {
  return toBase64Url(message);
}

/**
 * Decodes one text message of at most `maxBytes` bytes. Throws E_FRAME_TOO_LARGE for a longer string and
 * E_FRAME_MALFORMED for anything that is not a string of canonical base64url.
 */
export function decodeText(text: unknown, maxBytes: number): Uint8Array {
  if (typeof text !== 'string') throw new SealsigError('E_FRAME_MALFORMED', `a text service delivered a ${typeof text}, not a string`);
  if (text.length > base64UrlLength(maxBytes)) throw new SealsigError('E_FRAME_TOO_LARGE', `a ${text.length}-character message exceeds ${maxBytes} bytes`);
  const bytes = fromBase64Url(text);
  if (!bytes) throw new SealsigError('E_FRAME_MALFORMED', 'not canonical base64url');
  return bytes;
}
