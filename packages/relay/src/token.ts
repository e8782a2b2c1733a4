/**
 * Admission tokens (PROTOCOL-RELAY.md §2): `base64url(payload) "." base64url(mac)`, where payload is the
 * UTF-8 JSON `{"t":topic,"e":expirySeconds}` (one topic) or `{"p":prefix,"e":expirySeconds}` (a topic
 * family: the prefix itself and every topic that starts with prefix + "_"), and
 * mac = BLAKE2b-256(key = secret, message = payload bytes). A token admits one connection, scoped to its
 * topic or family, until its expiry. The app's server mints them with the relay's secret; the relay
 * verifies them at upgrade.
 */
import { RelayError, invalid } from './errors.js';
import { MAX_TOPIC_BYTES, isTopic } from './protocol.js';
import { equalConstantTime, mac256, sodiumReady } from './sodium.js';

/** Longest token accepted, so verification never decodes unbounded input. */
export const MAX_TOKEN_CHARS = 512;

/** What separates a family's prefix from a subtopic: a sealsig inbox topic is route tag + "_" + suffix. */
const FAMILY_SEPARATOR = '_';

/** Longest family prefix: it must leave room for the separator and at least one character within a topic. */
const MAX_PREFIX_CHARS = MAX_TOPIC_BYTES - 2;

interface AdmissionTokenCommon {
  /** The relay's token secret: 16..64 bytes (a string is taken as its UTF-8 bytes). */
  secret: Uint8Array | string;
  /** Lifetime in seconds (1 .. 31 days). */
  ttlSeconds: number;
  /** Current time in milliseconds since the epoch (default Date.now()). */
  now?: number;
}

/** Give exactly one of `topic` and `prefix`. */
export type AdmissionTokenOptions = AdmissionTokenCommon &
  (
    | {
        /** The one topic the token admits (payload `{"t": ...}`). */
        topic: string;
        /** Absent for a one-topic token. */
        prefix?: undefined;
      }
    | {
        /**
         * A topic family (payload `{"p": ...}`): admits `prefix` and every topic that starts with
         * `prefix + "_"`. For sealsig, the session's route tag: its family is the session topic and its
         * members' inbox topics. 1..62 characters of [A-Za-z0-9_-].
         */
        prefix: string;
        /** Absent for a prefix token. */
        topic?: undefined;
      }
  );

/** True when `prefix` can head a family: a topic short enough to leave room for "_" and a subtopic. */
export function isFamilyPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && prefix.length <= MAX_PREFIX_CHARS && isTopic(prefix);
}

/** The secret as key bytes; throws E_INVALID_ARGUMENT unless it is 16..64 bytes. */
export function secretKey(secret: Uint8Array | string): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array) || key.length < 16 || key.length > 64) {
    throw invalid('admission secret must be 16..64 bytes');
  }
  return key;
}

/** Mints an admission token for one `topic` or for the family of `prefix` (exactly one of them). */
export async function createAdmissionToken(options: AdmissionTokenOptions): Promise<string> {
  await sodiumReady();
  const key = secretKey(options.secret);
  const { topic, prefix } = options as { topic?: unknown; prefix?: unknown };
  if ((topic === undefined) === (prefix === undefined)) throw invalid('give exactly one of topic and prefix');
  let scope: { t: string } | { p: string };
  if (topic !== undefined) {
    if (typeof topic !== 'string' || !isTopic(topic)) throw invalid(`topic must be 1..${MAX_TOPIC_BYTES} chars of [A-Za-z0-9_-]`);
    scope = { t: topic };
  } else {
    if (!isFamilyPrefix(prefix)) throw invalid(`prefix must be 1..${MAX_PREFIX_CHARS} chars of [A-Za-z0-9_-]`);
    scope = { p: prefix };
  }
  const ttl = options.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31 * 86_400) throw invalid('ttlSeconds must be an integer in 1..2678400');
  const now = options.now ?? Date.now();
  const payload = new TextEncoder().encode(JSON.stringify({ ...scope, e: Math.floor(now / 1000) + ttl }));
  return `${b64u(payload)}.${b64u(mac256(payload, key))}`;
}

/** A verified token's content: one topic (`topic`) or a topic family (`prefix`), and its expiry. */
export type AdmissionGrant =
  | {
      /** The one topic the token admits. */
      topic: string;
      /** Absent for a one-topic token. */
      prefix?: undefined;
      /** Expiry, seconds since the epoch. */
      expires: number;
    }
  | {
      /** The family's prefix: the token admits it and every topic that starts with prefix + "_". */
      prefix: string;
      /** Absent for a prefix token. */
      topic?: undefined;
      /** Expiry, seconds since the epoch. */
      expires: number;
    };

/**
 * Whether a grant admits `topic` (PROTOCOL-RELAY.md §2): the token's topic exactly, or, for a family,
 * the prefix itself or a topic that starts with prefix + "_".
 */
export function grantAdmits(grant: AdmissionGrant, topic: string): boolean {
  if (grant.prefix === undefined) return topic === grant.topic;
  // On every SUBSCRIBE and PUBLISH: no string is built here.
  const p = grant.prefix;
  return topic.startsWith(p) && (topic.length === p.length || topic[p.length] === FAMILY_SEPARATOR);
}

/** What a grant is about, for logs and the TURN user part: its topic or its family's prefix. */
export function grantScope(grant: AdmissionGrant): string {
  return grant.prefix ?? grant.topic;
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
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('bad token payload');
  const has = (k: string) => Object.prototype.hasOwnProperty.call(parsed, k);
  const { t, p, e } = parsed as { t?: unknown; p?: unknown; e?: unknown };
  if (typeof e !== 'number' || !Number.isSafeInteger(e)) throw bad('bad token payload');
  // Exactly one scope: a topic, or a family prefix that leaves room for "_" and a subtopic.
  let grant: AdmissionGrant;
  if (has('t') && !has('p') && typeof t === 'string' && isTopic(t)) grant = { topic: t, expires: e };
  else if (has('p') && !has('t') && isFamilyPrefix(p)) grant = { prefix: p, expires: e };
  else throw bad('bad token payload');
  if (e * 1000 <= nowMs) throw new RelayError('E_TOKEN_EXPIRED', 'admission token expired');
  return grant;
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
