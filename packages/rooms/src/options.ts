/**
 * What the app passes to createRoom() and joinRoom() (docs/PROTOCOL.md §R3, §R4, §R5, §R6, §R7), and the
 * checks and copies made of it before anything is sent: names, ICE servers, the identity's keys.
 */
import { SealsigError, ed25519KeyPair, memzero, x25519KeyPair, type Identity, type SessionOptions, type Transport } from '@sealsig/core';
import type { AttemptLimiterOptions } from './cpace/attempts.js';
import type { DescriptorOptions } from './descriptor.js';
import type { Invite } from './invite.js';
import type { Privileges } from './privileges.js';
import { MAX_NAME_CHARS, copyIceServers, type IceServer } from './wire.js';

/** Options common to createRoom() and joinRoom(). */
export interface RoomOptions {
  /** Moves frames (core's Transport contract). */
  transport: Transport;
  /** Display name shown to the moderator and members (at most 64 characters). */
  name?: string;
  /** Long-term keys. A moderator that wants to come back after a crash must keep and pass its identity. */
  identity?: Identity;
  /** Who may stop or mute this member's streams. Default: nobody. */
  privileges?: Privileges;
  /** Core session tuning (heartbeats, timeouts), for both the lobby and the room. */
  session?: Partial<Omit<SessionOptions, 'sessionId' | 'transport' | 'identity' | 'epoch'>>;
  /** Retransmission interval of room control messages and join requests (default 1 s). */
  retryMs?: number;
  /** A member that has not seen the moderator for this long asks for the current state again (§R5; default 5 s, backing off). */
  resyncAfterMs?: number;
  /** Time a privilege request waits for the owner's answer (default 15 s). */
  privilegeTimeoutMs?: number;
  /** Publish the sealed room descriptor (§R7) while this member is the moderator. */
  descriptor?: DescriptorOptions;
  /** Moderator settings, used while this member is (or becomes) the moderator. */
  moderation?: ModerationOptions;
}

/** How this member moderates (§R5, §R6). */
export interface ModerationOptions {
  /** 'ask' (default): the app decides each join-request. 'auto': admit every joiner (after the password). */
  admit?: 'ask' | 'auto';
  /** A new epoch key whenever someone is admitted, so newcomers cannot read earlier broadcasts. */
  rotateOnJoin?: boolean;
  /** Rotate the epoch key on this period (ms). */
  rotateEveryMs?: number;
  /** Password attempt limits (AttemptLimiter). */
  attempts?: AttemptLimiterOptions;
  /** Lifetime of the invites this moderator issues, ms (`room.invite`, `room.createInvite()`; default 7 days). */
  inviteTtlMs?: number;
  /**
   * Whose invites this moderator accepts (§R2): 'chain' (default), its own and those its predecessors in the
   * moderator chain signed (so invites handed out before a transfer still work); 'self', only its own (a former
   * moderator keeps its key and could go on signing invites, §R6.4).
   */
  inviteSigners?: 'chain' | 'self';
  /** Time the app (and a joiner's key confirmation) has to answer a request (default 60 s). */
  decisionTimeoutMs?: number;
  /**
   * New lobby identities admitted per second under one invite (§R3 "Door", core §6.5; default 8, with a
   * bucket of twice that, at least 16): what one invite holder flooding the lobby with fresh identities can
   * get through, and how fast many joiners sharing one invite get in.
   */
  lobbyRate?: number;
  /**
   * Keep the room's ICE servers fresh while moderating: `fetch` is called at once and every `everyMs`, and a
   * changed answer is handed to members (e.g. `() => relayTurnCredentials({ url, token }).then((c) => c.iceServers)`,
   * with `everyMs` below the credentials' ttl).
   */
  refreshIceServers?: {
    /** Returns the current ICE servers. */
    fetch: () => Promise<IceServer[]>;
    /** Interval between calls, ms. */
    everyMs: number;
  };
}

/** Options of createRoom(): this member is the first moderator. */
export interface CreateRoomOptions extends RoomOptions {
  /** The room password: joiners prove it with CPace (§R4); the relay cannot test guesses offline. */
  password?: string;
  /** ICE servers (e.g. TURN credentials) handed to members sealed inside the room state. */
  iceServers?: IceServer[];
}

/** Options of joinRoom(). */
export interface JoinRoomOptions extends RoomOptions {
  /** The invite, as text or parsed. Parse it with parseInvite and ask the user first (§R3). */
  invite: string | Invite;
  /** The room password, if the invite says there is one. */
  password?: string;
  /** Shown to the moderator with the request (at most 1 KiB encoded). */
  appData?: unknown;
  /** Give up waiting for admission after this long (default 60 s): E_TIMEOUT. */
  timeoutMs?: number;
}

/** The invite settings of `moderation` (§R2), checked before anything is sent: E_INVALID_ARGUMENT otherwise. */
export function checkInviteOptions(m: ModerationOptions | undefined): void {
  const ttl = m?.inviteTtlMs;
  if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1000 || ttl > 100 * 365 * 86_400_000)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'moderation.inviteTtlMs must be an integer of ms, 1 s to 100 years');
  }
  const rate = m?.lobbyRate;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) throw new SealsigError('E_INVALID_ARGUMENT', 'moderation.lobbyRate must be a positive number');
  const signers: unknown = m?.inviteSigners;
  if (signers !== undefined && signers !== 'chain' && signers !== 'self') throw new SealsigError('E_INVALID_ARGUMENT', "moderation.inviteSigners must be 'chain' or 'self'");
}

/** A display name: at most MAX_NAME_CHARS characters ('' when absent); E_INVALID_ARGUMENT otherwise. */
export function checkName(name: unknown): string {
  if (name === undefined) return '';
  if (typeof name !== 'string' || name.length > MAX_NAME_CHARS) throw new SealsigError('E_INVALID_ARGUMENT', `name must be a string of at most ${MAX_NAME_CHARS} characters`);
  return name;
}

/** A private copy of ICE servers the app passes, checked as members decode them; E_INVALID_ARGUMENT otherwise. */
export function checkIce(servers: IceServer[]): IceServer[] {
  try {
    return copyIceServers(servers);
  } catch (e) {
    throw new SealsigError('E_INVALID_ARGUMENT', `bad ice servers: ${(e as Error).message}`);
  }
}

/** A private copy of the app's identity (the room erases it on close), or a new one. */
export function copyIdentity(identity: Identity | undefined): Identity {
  if (identity === undefined) return { signing: ed25519KeyPair(), dh: x25519KeyPair() };
  return {
    signing: { publicKey: identity.signing.publicKey.slice(), privateKey: identity.signing.privateKey.slice() },
    dh: { publicKey: identity.dh.publicKey.slice(), privateKey: identity.dh.privateKey.slice() },
  };
}

/** Erases the secret keys of a copy made by copyIdentity. */
export function eraseIdentity(identity: Identity): void {
  memzero(identity.signing.privateKey, identity.dh.privateKey);
}
