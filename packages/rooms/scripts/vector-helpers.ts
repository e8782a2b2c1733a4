/**
 * What both rooms vector scripts share (docs/PROTOCOL.md §R9): the fixed inputs of rooms.json and small
 * helpers. vectors.ts writes the sections of rooms.json, rule-vectors.ts its scenario vectors (`rules`).
 */
import { toHex, type KeyPair } from '@sealsig/core';

export const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
export function fromHexText(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
}
export const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

/** The fixed inputs of rooms.json. */
export const FIXED = {
  /** The same session id bytes as core's key-schedule.json, so the lobby topic equals core's topic there. */
  sessionIdBytes: seq(16),
  moderatorSeed: fill(32, 0xd1),
  /** The successors of the chain vector: link 1 hands moderation to key 1, link 2 to key 2. */
  successorSeeds: [fill(32, 0xd2), fill(32, 0xd3)],
  /** The third and fourth moderators of the descriptor-put vector's handovers (links 3 and 4). */
  laterSuccessorSeeds: [fill(32, 0xd4), fill(32, 0xd5)],
  /** Invite ids (§R2): the password invite, the one without, the one of the second moderator, the longest one, a revoked one. */
  inviteIds: [seq(8, 0x60), seq(8, 0x68), seq(8, 0x78), fill(8, 0xff), seq(8, 0x88)],
  /** The privilege requester and the stream owner. */
  requesterSeed: fill(32, 0xf1),
  ownerSeed: fill(32, 0xf2),
  roomSessionIdBytes: seq(16, 0x30),
  descriptorNonce: seq(24, 0x50),
  descriptorTitle: 'Weekly sync',
  /** 2026-11-24T00:00:00Z, as in core's vectors. */
  now: 1_795_478_400_000,
  descriptorTtlMs: 60_000,
  /** An invite holder who is not the moderator (the descriptor-put vector). */
  descriptorStrangerSeed: fill(32, 0xd9),
  privilegeNonce: seq(16, 0x70),
  isk: seq(64, 0x80),
  joinNonce: seq(16, 0x90),
  /** A complete password check (§R4): the password and both parties' scalars (the draft's own ya and yb). */
  password: 'correct horse battery staple',
  cpaceYa: fromHexText('DA3D23700A9E5699258AEF94DC060DFDA5EBB61F02A5EA77FAD53F4FF0976D08'),
  cpaceYb: fromHexText('D2316B454718C35362D83D69DF6320F38578ED5984651435E2949762D900B80D'),
  cpaceShareJoiner: fill(32, 0x11),
  cpaceShareModerator: fill(32, 0x22),
  roomKey: fill(32, 0xe7),
};

export const hexKeyPair = (seed: Uint8Array, kp: KeyPair) => ({ ed25519_seed: toHex(seed), ed25519_public: toHex(kp.publicKey) });

/** Byte strings as hex, recursively; everything else as is. */
export function json(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(json);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, json(x)]));
  return v;
}


export function fail(what: string): never {
  throw new Error(`rooms vectors: ${what}`);
}
