/**
 * Admission tokens (PROTOCOL-RELAY.md §2): `base64url(payload) "." base64url(mac)`, where payload is the
 * UTF-8 JSON `{"t":topic,"e":expirySeconds}` and mac = BLAKE2b-256(key = secret, message = payload bytes).
 * A token admits one connection scoped to one topic until its expiry. The app's server mints them with the
 * relay's secret; the relay verifies them at upgrade.
 */
import { RelayError, invalid } from './errors.js';
import { MAX_TOPIC_BYTES, isTopic } from './protocol.js';
import { equalConstantTime, mac256, sodiumReady } from './sodium.js';

/** Longest token accepted, so verification never decodes unbounded input. */
export const MAX_TOKEN_CHARS = 512;

export interface AdmissionTokenOptions {
  /** The relay's token secret: 16..64 bytes (a string is taken as its UTF-8 bytes). */
  secret: Uint8Array | string;
  /** The topic (route tag) the token admits. */
  topic: string;
  /** Lifetime in seconds (1 .. 31 days). */
  ttlSeconds: number;
  /** Current time in milliseconds since the epoch (default Date.now()). */
  now?: number;
}

/** The secret as key bytes; throws E_INVALID_ARGUMENT unless it is 16..64 bytes. */
export function secretKey(secret: Uint8Array | string): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array) || key.length < 16 || key.length > 64) {
    throw invalid('admission secret must be 16..64 bytes');
  }
  return key;
}

/** Mints an admission token for `topic`. */
export async function createAdmissionToken(options: AdmissionTokenOptions): Promise<string> {
  await sodiumReady();
  const key = secretKey(options.secret);
  if (!isTopic(options.topic)) throw invalid(`topic must be 1..${MAX_TOPIC_BYTES} chars of [A-Za-z0-9_-]`);
  const ttl = options.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31 * 86_400) throw invalid('ttlSeconds must be an integer in 1..2678400');
  const now = options.now ?? Date.now();
  const payload = new TextEncoder().encode(JSON.stringify({ t: options.topic, e: Math.floor(now / 1000) + ttl }));
  return `${b64u(payload)}.${b64u(mac256(payload, key))}`;
}

/** A verified token's content. */
export interface AdmissionGrant {
  topic: string;
  /** Expiry, seconds since the epoch. */
  expires: number;
}

/**
 * Verifies a token (sodium must be ready). Throws E_TOKEN_INVALID (malformed, forged) or E_TOKEN_EXPIRED.
 * The mac is checked, in constant time, before the payload is parsed.
 */
export function verifyAdmissionToken(token: string, key: Uint8Array, nowMs: number = Date.now()): AdmissionGrant {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) throw bad('bad token length');
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) throw bad('bad token shape');
  const payload = fromB64u(token.slice(0, dot));
  const mac = fromB64u(token.slice(dot + 1));
  if (payload === undefined || mac === undefined || mac.length !== 32) throw bad('bad token encoding');
  if (!equalConstantTime(mac256(payload, key), mac)) throw bad('bad token mac');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw bad('bad token payload');
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('bad token payload');
  const { t, e } = parsed as { t?: unknown; e?: unknown };
  if (typeof t !== 'string' || !isTopic(t) || typeof e !== 'number' || !Number.isSafeInteger(e)) throw bad('bad token payload');
  if (e * 1000 <= nowMs) throw new RelayError('E_TOKEN_EXPIRED', 'admission token expired');
  return { topic: t, expires: e };
}

function bad(message: string): RelayError {
  return new RelayError('E_TOKEN_INVALID', message);
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

/** Canonical base64url only (no padding, only the alphabet); undefined otherwise. */
export function fromB64u(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? new Uint8Array(bytes) : undefined;
}
