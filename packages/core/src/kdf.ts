/**
 * Session ids and the key schedule (docs/PROTOCOL.md §3).
 *
 *   KDF(key, label, info, L) = BLAKE2b-L(key = key, message = UTF8(label) || 0x00 || info)
 *
 *   root        = KDF(sid, "sealsig/v3/root", factor, 32)        factor = b"" in v3 (second-factor slot)
 *   route tag   = KDF(root, "sealsig/v3/route", b"", 16)          topic = base64url(route tag)
 *   id key      = KDF(root, "sealsig/v3/member-id", b"", 32)
 *   room key 0  = KDF(root, "sealsig/v3/room-key", u32be(0), 32)
 *   inbox key   = KDF(root, "sealsig/v3/inbox", b"", 32)
 *   inbox topic = topic || "_" || base64url(KDF(inbox key, "sealsig/v3/inbox-topic", member id || instance, 16))
 *   per epoch:  broadcast key = KDF(room key, "sealsig/v3/broadcast", b"", 32)
 *               noise psk     = KDF(room key, "sealsig/v3/noise-psk", b"", 32)
 *   member id   = BLAKE2b-16(key = id key, message = Ed25519 public key)
 *   pair key    = KDF(X25519(own static, peer static), "sealsig/v3/pair-key", route tag || lower id || its instance
 *                     || higher id || its instance, 32)                                        (pair-tag.ts, §7.2)
 */
import { concatBytes, fromBase64Url, toBase64Url, u32be, utf8 } from './bytes.js';
import { fail } from './errors.js';
import { blake2b, memzero, randomBytes } from './sodium.js';

export const SESSION_ID_BYTES = 16;
export const ROUTE_TAG_BYTES = 16;
export const MEMBER_ID_BYTES = 16;
const MAX_SESSION_ID_BYTES = 64; // the largest BLAKE2b key

/** The BLAKE2b KDF labels of the key schedule (§3). */
export const Labels = {
  /** Session root key from the session id (§3.3). */
  root: 'sealsig/v3/root',
  /** Route tag: the session topic (§3.3). */
  route: 'sealsig/v3/route',
  /** Member id key (§3.3, §3.5). */
  memberId: 'sealsig/v3/member-id',
  /** Room key of epoch 0 (§3.3). */
  roomKey: 'sealsig/v3/room-key',
  /** Broadcast key of an epoch (§3.4). */
  broadcast: 'sealsig/v3/broadcast',
  /** Noise psk of an epoch (§3.4). */
  noisePsk: 'sealsig/v3/noise-psk',
  /** Inbox key (§3.6). */
  inbox: 'sealsig/v3/inbox',
  /** Inbox topic of an instance (§3.6). */
  inboxTopic: 'sealsig/v3/inbox-topic',
  /** Pair key of two member instances, from their static-static X25519 (§7.2). */
  pairKey: 'sealsig/v3/pair-key',
  /** Pair tag of a handshake frame (§7.2). */
  pairTag: 'sealsig/v3/pair-tag',
  /** Admission work of a hello (§6.5). */
  helloWork: 'sealsig/v3/hello-work',
} as const;

/** §3.6 The separator between a session topic and an inbox suffix (inside the transports' topic alphabet). */
const INBOX_SEPARATOR = '_';
const INBOX_SUFFIX_BYTES = 16;

/** §3.1 KDF: BLAKE2b keyed with `key`, over the label, a zero byte, then `info`. */
export function kdf(key: Uint8Array, label: string, info: Uint8Array, outLen: number): Uint8Array {
  return blake2b(outLen, concatBytes(utf8(label), new Uint8Array(1), info), key);
}

/** §3.2 A new session id: 128 random bits, base64url without padding (22 characters). */
export function createSessionId(): string {
  return toBase64Url(randomBytes(SESSION_ID_BYTES));
}

/** §3.2 Decodes a session id; refuses anything but 16..64 bytes of canonical base64url. */
export function parseSessionId(sessionId: string): Uint8Array {
  if (typeof sessionId !== 'string') throw fail('E_INVALID_ARGUMENT', 'session id must be a string');
  const bytes = fromBase64Url(sessionId);
  if (bytes === undefined) throw fail('E_INVALID_ARGUMENT', 'session id is not canonical base64url');
  if (bytes.length < SESSION_ID_BYTES || bytes.length > MAX_SESSION_ID_BYTES) {
    throw fail('E_INVALID_ARGUMENT', `session id must hold ${SESSION_ID_BYTES} to ${MAX_SESSION_ID_BYTES} bytes`);
  }
  return bytes;
}

export interface SessionSecrets {
  /** Public: what the transport sees. */
  routeTag: Uint8Array;
  topic: string;
  /** Secret: keys member ids. */
  memberIdKey: Uint8Array;
  /** Secret: the room key of epoch 0. */
  roomKey0: Uint8Array;
  /** Secret: keys the inbox topics (§3.6). */
  inboxKey: Uint8Array;
}

/** §3.3 Everything a member derives from the session id. The root key is erased before returning. */
export function deriveSession(sessionId: string, factor: Uint8Array = new Uint8Array(0)): SessionSecrets {
  const sid = parseSessionId(sessionId);
  const root = kdf(sid, Labels.root, factor, 32);
  const routeTag = kdf(root, Labels.route, new Uint8Array(0), ROUTE_TAG_BYTES);
  const memberIdKey = kdf(root, Labels.memberId, new Uint8Array(0), 32);
  const roomKey0 = kdf(root, Labels.roomKey, u32be(0), 32);
  const inboxKey = kdf(root, Labels.inbox, new Uint8Array(0), 32);
  memzero(sid, root);
  return { routeTag, topic: toBase64Url(routeTag), memberIdKey, roomKey0, inboxKey };
}

/**
 * §3.6 The inbox topic of one member instance: the session topic, "_", and a keyed suffix. The relay cannot
 * compute it without the session id, nor link it to the same member in another session.
 */
export function inboxTopic(topic: string, inboxKey: Uint8Array, memberId: Uint8Array, instance: Uint8Array): string {
  return topic + INBOX_SEPARATOR + toBase64Url(kdf(inboxKey, Labels.inboxTopic, concatBytes(memberId, instance), INBOX_SUFFIX_BYTES));
}

export interface EpochKeys {
  epoch: number;
  broadcastKey: Uint8Array;
  psk: Uint8Array;
}

/** §3.4 The keys of one epoch, from its room key. */
export function deriveEpochKeys(epoch: number, roomKey: Uint8Array): EpochKeys {
  return {
    epoch,
    broadcastKey: kdf(roomKey, Labels.broadcast, new Uint8Array(0), 32),
    psk: kdf(roomKey, Labels.noisePsk, new Uint8Array(0), 32),
  };
}

/** §3.5 A member id: the keyed hash of its Ed25519 public key (unlinkable across sessions). */
export function memberIdOf(memberIdKey: Uint8Array, signingPublicKey: Uint8Array): Uint8Array {
  return blake2b(MEMBER_ID_BYTES, signingPublicKey, memberIdKey);
}
