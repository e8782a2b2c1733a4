/**
 * Sealed room descriptors (docs/PROTOCOL.md §R7), the guide's `dontTransmit` session description done so
 * that the store holds only ciphertext: the moderator stores the room's title, its key and settings, with an
 * expiry, under an id derived from the invite; members and would-be joiners fetch and open it. "Is this room
 * live?" is answered by fetching it: the store learns the descriptor id (a keyed hash, unlinkable to the
 * lobby's or the room's route tags) and nothing else.
 *
 *   content    = msgpack([2, title, moderator_key, flags, expires_at, chain, serial])
 *   signature  = Ed25519-Sign(moderator, "sealsig/v2/rooms/descriptor-signature" || 0x00 || descriptor_id || content)
 *   sealed     = nonce (24) || XChaCha20-Poly1305(descriptor_key, nonce, content || signature, ad = descriptor_id)
 *
 * Only the moderator can write it: each put carries a write proof signed with the moderator's key (the same
 * serial as in the content; store/proof.ts), and a store that checks proofs refuses anyone else's put, an
 * older put, and a former moderator's put once its successor has written. A reader checks that moderator_key
 * is the invite's pinned key or the end of a valid chain from the pin (§R6) and the signature with it; it
 * refuses (E_STALE) a descriptor whose expires_at has passed for anything but "not live", and a
 * DescriptorReader refuses one whose serial is older than the newest it has verified. A first-time reader can
 * still be shown an older descriptor that has not expired (at most one TTL old) by a store that lies.
 */
import { SealsigError, concatBytes, decodeCanonical, encodeCanonical, ed25519Sign, ed25519Verify, isSealsigError, randomBytes, toBase64Url, xchachaOpen, xchachaSeal } from '@sealsig/core';
import { isCertifiedModerator } from './chain.js';
import type { Invite } from './invite.js';

/** What descriptors need of an invite (§R7): its lobby session id, pinned key and position, password flag. */
export type DescriptorInvite = Pick<Invite, 'sessionId' | 'moderatorKey' | 'chainIndex' | 'passwordRequired'>;
import { RoomLabels, descriptorKeys, signatureInput } from './labels.js';
import { signWriteProof } from './store/proof.js';
import type { DescriptorStore } from './store/store.js';
import { DESCRIPTOR_MAX_BYTES } from './store/store.js';
import { decodeChain, encodeChain, type ChainLink } from './wire.js';

/** The descriptor content's version (the first element of `content`). */
export const DESCRIPTOR_VERSION = 2;

/** Publishing the room descriptor while moderating (RoomOptions.descriptor, §R7). */
export interface DescriptorOptions {
  /** Where the sealed descriptor is published. */
  store: DescriptorStore;
  /** The room title shown to invite holders (at most 200 characters). */
  title: string;
  /** How long a published descriptor stays valid; the moderator republishes at half of it (default 60 s). */
  ttlMs?: number;
}

/** An opened, verified room descriptor (§R7). */
export interface RoomDescriptor {
  /** The room title. */
  title: string;
  /** The current moderator's Ed25519 public key (at the end of the chain). */
  moderatorKey: Uint8Array;
  /** Whether joining needs the password. */
  passwordRequired: boolean;
  /** When the descriptor expires, ms since the Unix epoch. */
  expiresAt: number;
  /** The moderator's signed version of the descriptor: higher is newer (§R7). */
  serial: number;
  /** Always true: a descriptor whose expiresAt has passed is refused (E_STALE) or, when fetched, read as "not live". */
  live: true;
}

const MAX_TITLE_CHARS = 200;

/** The inputs of sealDescriptor(). */
export interface SealDescriptorInput {
  /** The room's invite (the descriptor keys derive from it). */
  invite: DescriptorInvite;
  /** The room title (at most 200 characters). */
  title: string;
  /** The current moderator's Ed25519 public key. */
  moderatorKey: Uint8Array;
  /** The moderator chain from the invite's moderator to moderatorKey (§R6). */
  chain: ChainLink[];
  /** Expiry, ms since the Unix epoch. */
  expiresAt: number;
  /** The descriptor's version: above every serial this room's moderators used before (publishDescriptor keeps it). */
  serial: number;
  /** The moderator's Ed25519 secret key (64 bytes), which signs the descriptor. */
  signingSecret: Uint8Array;
  /** Fixed nonce, for test vectors only. */
  nonce?: Uint8Array;
}

const uintField = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** §R7 Seals a descriptor. Returns the store id (base64url and bytes) and the sealed bytes. */
export function sealDescriptor(d: SealDescriptorInput): {
  /** The store id, base64url. */
  id: string;
  /** The store id, bytes. */
  idBytes: Uint8Array;
  /** The sealed descriptor. */
  sealed: Uint8Array;
} {
  if (typeof d.title !== 'string' || d.title.length > MAX_TITLE_CHARS) throw new SealsigError('E_INVALID_ARGUMENT', `title must be at most ${MAX_TITLE_CHARS} characters`);
  if (!uintField(d.expiresAt) || !uintField(d.serial)) throw new SealsigError('E_INVALID_ARGUMENT', 'expiresAt and serial must be safe unsigned integers');
  const keys = descriptorKeys(d.invite.sessionId);
  try {
    const content = encodeCanonical([DESCRIPTOR_VERSION, d.title, d.moderatorKey, d.invite.passwordRequired ? 1 : 0, d.expiresAt, encodeChain(d.chain), d.serial]).slice();
    const signature = ed25519Sign(d.signingSecret, signatureInput(RoomLabels.descriptorSignature, keys.id, content));
    const plain = concatBytes(content, signature);
    const nonce = d.nonce ?? randomBytes(24);
    const sealed = concatBytes(nonce, xchachaSeal(keys.key, nonce, plain, keys.id));
    return { id: toBase64Url(keys.id), idBytes: keys.id, sealed };
  } finally {
    keys.key.fill(0);
  }
}

/**
 * §R7 Opens a descriptor and checks who signed it, whatever its expiry: E_FRAME_MALFORMED for an impossible
 * size or content, E_AUTH_FAILED if it was not sealed for this invite or not signed by the invite's pinned
 * moderator or a successor the chain certifies from that pin. Callers decide what the expiry means.
 */
export function verifyDescriptor(invite: DescriptorInvite, sealed: Uint8Array): Omit<RoomDescriptor, 'live'> {
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
  if (!Array.isArray(v) || v.length < 1) throw new SealsigError('E_FRAME_MALFORMED', 'descriptor content is not an array');
  if (v[0] !== DESCRIPTOR_VERSION) throw new SealsigError('E_VERSION', `descriptor version ${typeof v[0] === 'number' ? v[0] : typeof v[0]}`);
  if (v.length !== 7) throw new SealsigError('E_FRAME_MALFORMED', 'descriptor content is not a 7-element array');
  const [, title, key, flags, expiresAt, chainWire, serial] = v as unknown[];
  if (typeof title !== 'string' || title.length > MAX_TITLE_CHARS || !(key instanceof Uint8Array) || key.length !== 32 || (flags !== 0 && flags !== 1) || !uintField(expiresAt) || !uintField(serial)) {
    throw new SealsigError('E_FRAME_MALFORMED', 'descriptor fields are malformed');
  }
  const chain = decodeChain(chainWire);
  if (!isCertifiedModerator(key, chain, keys.id, { key: invite.moderatorKey, index: invite.chainIndex })) {
    throw new SealsigError('E_AUTH_FAILED', 'descriptor key is not the invite moderator or its certified successor');
  }
  if (!ed25519Verify(key, signatureInput(RoomLabels.descriptorSignature, keys.id, content), signature)) throw new SealsigError('E_AUTH_FAILED', 'descriptor signature does not verify');
  return { title, moderatorKey: key.slice(), passwordRequired: flags === 1, expiresAt, serial };
}

function stale(expiresAt: number): SealsigError {
  return new SealsigError('E_STALE', `the descriptor expired at ${new Date(expiresAt).toISOString()}: the room is not live`);
}

/** §R7 Opens and checks a descriptor (verifyDescriptor), and refuses with E_STALE one whose expires_at <= now. */
export function openDescriptor(invite: DescriptorInvite, sealed: Uint8Array, now = Date.now()): RoomDescriptor {
  const d = verifyDescriptor(invite, sealed);
  if (d.expiresAt <= now) throw stale(d.expiresAt);
  return { ...d, live: true };
}

/**
 * §R7 A reader that remembers the newest descriptor it has verified for one invite, and refuses (E_STALE) an
 * older one: once it has seen serial n (live or not), a store replaying a recorded descriptor with a serial
 * below n is caught. A first read has nothing to compare with: a store can show an older descriptor that has
 * not yet expired, so at most one TTL old. Keep one reader per invite for as long as the app shows the room.
 */
export class DescriptorReader {
  #newest = -1;

  constructor(
    /** The invite whose descriptor this reader fetches. */
    readonly invite: DescriptorInvite,
    /** The store it reads from. */
    readonly store: DescriptorStore,
  ) {}

  /** The serial of the newest descriptor verified so far, or undefined before the first. */
  get newest(): number | undefined {
    return this.#newest < 0 ? undefined : this.#newest;
  }

  /** Opens `sealed` (openDescriptor), refusing (E_STALE) a serial below the newest seen; an expired one still counts as seen. */
  open(sealed: Uint8Array, now = Date.now()): RoomDescriptor {
    const d = this.#verify(sealed);
    if (d.expiresAt <= now) throw stale(d.expiresAt);
    return { ...d, live: true };
  }

  /**
   * Fetches and opens the descriptor: undefined if none is stored or it has expired (the room is not live);
   * E_AUTH_FAILED if it is forged, E_STALE if it is older than one this reader has verified.
   */
  async fetch(now = Date.now()): Promise<RoomDescriptor | undefined> {
    const sealed = await this.store.get(descriptorIdOf(this.invite));
    if (sealed === undefined) return undefined;
    const d = this.#verify(sealed);
    return d.expiresAt <= now ? undefined : { ...d, live: true };
  }

  /** "Is this room live?": a descriptor that opens, is not older than the newest seen, and has not expired. */
  async isLive(): Promise<boolean> {
    return (await this.fetch()) !== undefined;
  }

  #verify(sealed: Uint8Array): Omit<RoomDescriptor, 'live'> {
    const d = verifyDescriptor(this.invite, sealed);
    if (d.serial < this.#newest) throw new SealsigError('E_STALE', `descriptor serial ${d.serial} is older than ${this.#newest}, already seen: a replayed descriptor`);
    this.#newest = d.serial;
    return d;
  }
}

function descriptorIdOf(invite: DescriptorInvite): string {
  const keys = descriptorKeys(invite.sessionId);
  keys.key.fill(0);
  return toBase64Url(keys.id);
}

/** The last serial each DescriptorOptions published (publishDescriptor keeps serials increasing per options object). */
const serials = new WeakMap<DescriptorOptions, number>();

function nextSerial(o: DescriptorOptions, after = 0): number {
  const serial = Math.max(Date.now(), (serials.get(o) ?? 0) + 1, after + 1);
  serials.set(o, serial);
  return serial;
}

/**
 * Moderator: seals and stores the descriptor with an expiry of ttlMs from now (or, leaving, one that has
 * expired), with a write proof signed by `signingSecret` (the key `moderatorKey`). The serial is
 * max(now, last + 1); if the store refuses the put (E_AUTH_FAILED) and holds a genuine descriptor with a
 * serial at or above ours (a predecessor whose clock runs ahead), the put is made once more after it.
 */
export async function publishDescriptor(o: DescriptorOptions, invite: DescriptorInvite, signingSecret: Uint8Array, moderatorKey: Uint8Array, chain: ChainLink[], live = true): Promise<void> {
  // Leaving (live = false): a descriptor that expired at once, so the presence check says "not live" now.
  const ttlMs = live ? (o.ttlMs ?? 60_000) : 1_000;
  const expiresAt = live ? Date.now() + ttlMs : Date.now();
  const put = async (serial: number) => {
    const { id, idBytes, sealed } = sealDescriptor({ invite, title: o.title, moderatorKey, chain, expiresAt, serial, signingSecret });
    const proof = signWriteProof(signingSecret, moderatorKey, idBytes, serial, ttlMs, sealed, chain);
    await o.store.put(id, sealed, { ttlMs, proof });
  };
  const serial = nextSerial(o);
  try {
    await put(serial);
  } catch (e) {
    if (!isSealsigError(e) || e.code !== 'E_AUTH_FAILED') throw e;
    let stored: number | undefined;
    try {
      const sealed = await o.store.get(descriptorIdOf(invite));
      stored = sealed === undefined ? undefined : verifyDescriptor(invite, sealed).serial;
    } catch {
      stored = undefined;
    }
    if (stored === undefined || stored < serial) throw e;
    await put(nextSerial(o, stored));
  }
}

/**
 * §R7 Fetches and opens the room's descriptor once: undefined if none is stored or it has expired (the room
 * is not live). Without memory of earlier reads: use a DescriptorReader to refuse older descriptors.
 */
export async function fetchDescriptor(invite: DescriptorInvite, store: DescriptorStore, now = Date.now()): Promise<RoomDescriptor | undefined> {
  return new DescriptorReader(invite, store).fetch(now);
}

/** §R7 "Is this room live?" without revealing the session id to the store. */
export async function isRoomLive(invite: DescriptorInvite, store: DescriptorStore): Promise<boolean> {
  return new DescriptorReader(invite, store).isLive();
}
