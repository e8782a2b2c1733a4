/**
 * Sealed room descriptors (docs/PROTOCOL.md §R7), the guide's `dontTransmit` session description done so
 * that the store holds only ciphertext: the moderator stores the room's title, its key and settings, with an
 * expiry, under an id derived from the invite; members and would-be joiners fetch and open it. "Is this room
 * live?" is answered by fetching it: the store learns the descriptor id (a keyed hash, unlinkable to the
 * lobby's or the room's route tags) and nothing else.
 *
 *   content    = msgpack([1, title, moderator_key, flags, expires_at, chain])
 *   signature  = Ed25519-Sign(moderator, "sealsig/v1/rooms/descriptor-signature" || 0x00 || descriptor_id || content)
 *   sealed     = nonce (24) || XChaCha20-Poly1305(descriptor_key, nonce, content || signature, ad = descriptor_id)
 *
 * A reader checks that moderator_key is the invite's pinned key or the end of a valid chain from it (§R6) and
 * the signature with it; `live` = expires_at > now.
 */
import { SealsigError, concatBytes, decodeCanonical, encodeCanonical, ed25519Sign, ed25519Verify, randomBytes, toBase64Url, xchachaOpen, xchachaSeal } from '@sealsig/core';
import { isCertifiedModerator } from './chain.js';
import type { Invite } from './invite.js';
import { RoomLabels, descriptorKeys, lobbyTopicOf, signatureInput } from './labels.js';
import type { DescriptorStore } from './store/store.js';
import { DESCRIPTOR_MAX_BYTES } from './store/store.js';
import { decodeChain, type ChainLink } from './wire.js';

export interface DescriptorOptions {
  store: DescriptorStore;
  title: string;
  /** How long a published descriptor stays valid; the moderator republishes at half of it (default 60 s). */
  ttlMs?: number;
}

export interface RoomDescriptor {
  title: string;
  moderatorKey: Uint8Array;
  passwordRequired: boolean;
  expiresAt: number;
  /** Whether the moderator refreshed it recently enough: expiresAt > now. */
  live: boolean;
}

const MAX_TITLE_CHARS = 200;

export interface SealDescriptorInput {
  invite: Invite;
  title: string;
  moderatorKey: Uint8Array;
  chain: ChainLink[];
  expiresAt: number;
  signingSecret: Uint8Array;
  /** Fixed nonce, for test vectors only. */
  nonce?: Uint8Array;
}

/** §R7 Seals a descriptor. Returns the store id and the sealed bytes. */
export function sealDescriptor(d: SealDescriptorInput): { id: string; sealed: Uint8Array; writeToken: Uint8Array } {
  if (typeof d.title !== 'string' || d.title.length > MAX_TITLE_CHARS) throw new SealsigError('E_INVALID_ARGUMENT', `title must be at most ${MAX_TITLE_CHARS} characters`);
  const keys = descriptorKeys(d.invite.sessionId);
  const content = encodeCanonical([1, d.title, d.moderatorKey, d.invite.passwordRequired ? 1 : 0, d.expiresAt, d.chain.map((l) => [l.key, l.signature])]).slice();
  const signature = ed25519Sign(d.signingSecret, signatureInput(RoomLabels.descriptorSignature, keys.id, content));
  const plain = concatBytes(content, signature);
  const nonce = d.nonce ?? randomBytes(24);
  const box = xchachaSeal(keys.key, nonce, plain, keys.id);
  const sealed = concatBytes(nonce, box);
  keys.key.fill(0);
  return { id: toBase64Url(keys.id), sealed, writeToken: keys.writeToken };
}

/** §R7 Opens and checks a descriptor: E_AUTH_FAILED if it was not sealed for this invite or not signed by its moderator. */
export function openDescriptor(invite: Invite, sealed: Uint8Array, now = Date.now()): RoomDescriptor {
  if (!(sealed instanceof Uint8Array) || sealed.length > DESCRIPTOR_MAX_BYTES || sealed.length < 24 + 16 + 64) {
    throw new SealsigError('E_FRAME_MALFORMED', 'descriptor has an impossible size');
  }
  const keys = descriptorKeys(invite.sessionId);
  let plain: Uint8Array;
  try {
    plain = xchachaOpen(keys.key, sealed.subarray(0, 24), sealed.subarray(24), keys.id);
  } finally {
    keys.key.fill(0);
  }
  const content = plain.subarray(0, plain.length - 64);
  const signature = plain.subarray(plain.length - 64);
  const v = decodeCanonical(content); // E_FRAME_MALFORMED unless canonical msgpack (core §5.1)
  if (!Array.isArray(v) || v.length !== 6) throw new SealsigError('E_FRAME_MALFORMED', 'descriptor content is not a 6-element array');
  const [version, title, key, flags, expiresAt, chainWire] = v as unknown[];
  if (version !== 1 || typeof title !== 'string' || title.length > MAX_TITLE_CHARS || !(key instanceof Uint8Array) || key.length !== 32 || (flags !== 0 && flags !== 1) || typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    throw new SealsigError('E_FRAME_MALFORMED', 'descriptor fields are malformed');
  }
  const chain = decodeChain(chainWire);
  if (!isCertifiedModerator(key, chain, lobbyTopicOf(invite), invite.moderatorKey)) throw new SealsigError('E_AUTH_FAILED', 'descriptor key is not the invite moderator or its certified successor');
  if (!ed25519Verify(key, signatureInput(RoomLabels.descriptorSignature, keys.id, content), signature)) throw new SealsigError('E_AUTH_FAILED', 'descriptor signature does not verify');
  return { title, moderatorKey: key.slice(), passwordRequired: flags === 1, expiresAt, live: expiresAt > now };
}

/** Moderator: seals and stores the descriptor with an expiry of ttlMs from now (or, leaving, one that has expired). */
export async function publishDescriptor(o: DescriptorOptions, invite: Invite, signingSecret: Uint8Array, moderatorKey: Uint8Array, chain: ChainLink[], live = true): Promise<void> {
  // Leaving (live = false): a descriptor that expired at once, so the presence check says "not live" now.
  const ttlMs = live ? (o.ttlMs ?? 60_000) : 1_000;
  const expiresAt = live ? Date.now() + ttlMs : Date.now();
  const { id, sealed, writeToken } = sealDescriptor({ invite, title: o.title, moderatorKey, chain, expiresAt, signingSecret });
  try {
    await o.store.put(id, sealed, { ttlMs, writeToken });
  } finally {
    writeToken.fill(0);
  }
}

/** §R7 Fetches and opens the room's descriptor; undefined if none is stored (the room is not live). */
export async function fetchDescriptor(invite: Invite, store: DescriptorStore, now = Date.now()): Promise<RoomDescriptor | undefined> {
  const keys = descriptorKeys(invite.sessionId);
  keys.key.fill(0);
  keys.writeToken.fill(0);
  const sealed = await store.get(toBase64Url(keys.id));
  return sealed === undefined ? undefined : openDescriptor(invite, sealed, now);
}

/** §R7 "Is this room live?" without revealing the session id to the store. */
export async function isRoomLive(invite: Invite, store: DescriptorStore): Promise<boolean> {
  return (await fetchDescriptor(invite, store))?.live === true;
}
