/**
 * Short-lived TURN credentials in the "TURN REST API" scheme (draft-uberti-behave-turn-rest-00 §2.2), the
 * scheme coturn implements as `use-auth-secret` / `static-auth-secret`:
 *
 *   username   = `${expiry}:${user}`            (expiry: seconds since the epoch)
 *   credential = base64(HMAC-SHA1(key = shared secret, message = username))
 *
 * The TURN server recomputes the credential from the username and its copy of the secret, and refuses the
 * username once `expiry` has passed. The relay never talks to the TURN server: they only share the secret.
 */
import { invalid, RelayError } from './errors.js';

/** Default lifetime: one hour (the draft suggests about a day; shorter bounds a leaked credential). */
export const DEFAULT_TURN_TTL_SECONDS = 3_600;
/** Longest lifetime accepted: 7 days. */
export const MAX_TURN_TTL_SECONDS = 7 * 86_400;
/** Longest `user` part accepted (the whole STUN USERNAME must stay well under 513 bytes, RFC 8489 §14.3). */
export const MAX_TURN_USER_CHARS = 128;
/** At most this many URLs per credential, each at most MAX_TURN_URL_CHARS characters. */
export const MAX_TURN_URLS = 16;
export const MAX_TURN_URL_CHARS = 512;

/** The shape of one RTCIceServer (W3C WebRTC §4.2.1) plus the lifetime, as the draft's response carries it. */
export interface TurnCredentials {
  /** The TURN URLs the credential is for. */
  urls: string[];
  /** `${expiry}:${user}`. */
  username: string;
  /** base64 HMAC-SHA1 of `username` keyed with the shared secret. */
  credential: string;
  /** Lifetime in seconds. */
  ttl: number;
}

/** Options of createTurnCredentials(). */
export interface TurnCredentialOptions {
  /** The secret shared with the TURN server (coturn `static-auth-secret`): 16..256 bytes; a string is taken as its UTF-8 bytes. */
  secret: Uint8Array | string;
  /** Who the credential is for: 1..128 printable ASCII characters, no ':' (the draft's separator) and no space. */
  user: string;
  /** Lifetime in seconds, 1..604 800. Default 3 600. */
  ttlSeconds?: number;
  /** Current time in milliseconds since the epoch (default Date.now()). */
  now?: number;
  /** TURN/STUN URLs (`turn:`, `turns:`, `stun:`, RFC 7065 / RFC 7064), 1..16 of them. */
  urls: string[];
}

/** The TURN part of the relay options, validated. */
export interface TurnConfig {
  secret: Uint8Array;
  urls: string[];
  ttlSeconds: number;
}

/** The secret as key bytes; throws E_INVALID_ARGUMENT unless it is 16..256 bytes. */
export function turnSecretKey(secret: Uint8Array | string): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array) || key.length < 16 || key.length > 256) throw invalid('turn secret must be 16..256 bytes');
  return key;
}

/** Validates a URL list (copied); throws E_INVALID_ARGUMENT. */
export function turnUrls(urls: unknown): string[] {
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > MAX_TURN_URLS) {
    throw invalid(`turn urls must be an array of 1..${MAX_TURN_URLS} URLs`);
  }
  return urls.map((u: unknown) => {
    if (typeof u !== 'string' || u.length > MAX_TURN_URL_CHARS || !/^(turns?|stuns?):[\x21-\x7e]+$/.test(u)) {
      throw invalid('each turn url must be a turn:, turns:, stun: or stuns: URL of printable ASCII (at most 512 characters)');
    }
    return u;
  });
}

/** Validates a lifetime; throws E_INVALID_ARGUMENT. */
export function turnTtl(ttl: unknown): number {
  const v = ttl ?? DEFAULT_TURN_TTL_SECONDS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TURN_TTL_SECONDS) {
    throw invalid(`turn ttlSeconds must be an integer in 1..${MAX_TURN_TTL_SECONDS}`);
  }
  return v;
}

/** Validates `RelayOptions.turn`; throws E_INVALID_ARGUMENT. */
export function resolveTurn(turn: { secret: Uint8Array | string; urls: string[]; ttlSeconds?: number }): TurnConfig {
  if (typeof turn !== 'object' || turn === null) throw invalid('turn must be an object { secret, urls, ttlSeconds? }');
  return { secret: turnSecretKey(turn.secret), urls: turnUrls(turn.urls), ttlSeconds: turnTtl(turn.ttlSeconds) };
}

/**
 * Issues one TURN REST credential. Async because WebCrypto is.
 * Throws RelayError E_INVALID_ARGUMENT on a bad secret, user, TTL, time or URL list.
 */
export async function createTurnCredentials(options: TurnCredentialOptions): Promise<TurnCredentials> {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const key = turnSecretKey(options.secret);
  const urls = turnUrls(options.urls);
  const ttl = turnTtl(options.ttlSeconds);
  const user = options.user;
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_TURN_USER_CHARS || !/^[\x21-\x39\x3b-\x7e]+$/.test(user)) {
    throw invalid(`turn user must be 1..${MAX_TURN_USER_CHARS} printable ASCII characters without ':' or space`);
  }
  const now = options.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) throw invalid('now must be a non-negative number of milliseconds');
  const username = `${Math.floor(now / 1000) + ttl}:${user}`;
  const credential = Buffer.from(await hmacSha1(key, new TextEncoder().encode(username))).toString('base64');
  return { urls, username, credential, ttl };
}

/**
 * HMAC-SHA1 (RFC 2104 over FIPS 180-4 SHA-1). This is the one place in sealsig that does not use libsodium:
 * coturn's `use-auth-secret` mode (and draft-uberti-behave-turn-rest §2.2) fixes the MAC as HMAC-SHA1, and
 * libsodium has no SHA-1, so it comes from WebCrypto (`globalThis.crypto.subtle`, Node >= 19 and browsers).
 * SHA-1's collision weakness does not affect HMAC's use here as a MAC keyed with a secret.
 */
async function hmacSha1(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (subtle === undefined) throw new RelayError('E_STATE', 'WebCrypto (globalThis.crypto.subtle) is not available');
  const k = await subtle.importKey('raw', copy(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, copy(message)));
}

/** A copy backed by a plain ArrayBuffer (what WebCrypto's BufferSource type asks for). */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}
