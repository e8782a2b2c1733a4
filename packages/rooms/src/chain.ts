/**
 * The moderator chain (docs/PROTOCOL.md §R6). An invite pins a moderator key and its position in the chain
 * (0 for the room's creator). An explicit transfer appends a link: the next moderator's key, the room state
 * version and epoch at which the transfer was made, signed by the current moderator,
 *
 *   signature_i = Ed25519-Sign(key_{i-1}, "sealsig/v2/rooms/moderator-transfer" || 0x00 || descriptor_id
 *                              || u32be(i) || u64be(version_i) || u32be(epoch_i) || key_i)
 *
 * with key_0 the creator's key and i counting from 1. The room is named by its descriptor id (§R2) so that a
 * descriptor store can check a handover without learning the lobby's topic (§R7). Versions strictly increase
 * along a chain.
 */
import { ed25519Sign, ed25519Verify, equalBytes, u32be, u64be } from '@sealsig/core';
import { RoomLabels, signatureInput } from './labels.js';
import { MAX_CHAIN, type ChainLink, type RoomState } from './wire.js';

/** Where an invite (or a member's own state) anchors the chain: `key` is the moderator after `index` links. */
export interface ChainPin {
  key: Uint8Array;
  index: number;
}

/** §R6 The signed input of link `index` (1-based). */
export function linkInput(descriptorId: Uint8Array, index: number, version: number, epoch: number, key: Uint8Array): Uint8Array {
  return signatureInput(RoomLabels.transferSignature, descriptorId, u32be(index), u64be(version), u32be(epoch), key);
}

/** §R6 Appends a link handing moderation from the holder of `signingSecret` (the chain's current end) to `next`, made at state `version` and `epoch`. */
export function extendChain(chain: ChainLink[], descriptorId: Uint8Array, signingSecret: Uint8Array, next: Uint8Array, version: number, epoch: number): ChainLink[] {
  const index = chain.length + 1;
  const signature = ed25519Sign(signingSecret, linkInput(descriptorId, index, version, epoch, next));
  return [...chain, { key: next.slice(), version, epoch, signature }];
}

/**
 * §R6 The chain's end if, from `pin`, every later link verifies and versions increase, else undefined. Links
 * before the pin are not checked (the pin's holder vouched for them); the link at the pin must name its key.
 */
export function chainEnd(chain: ChainLink[], descriptorId: Uint8Array, pin: ChainPin): Uint8Array | undefined {
  if (chain.length > MAX_CHAIN || pin.index > chain.length) return undefined;
  if (pin.index > 0 && !equalBytes(chain[pin.index - 1]!.key, pin.key)) return undefined;
  let current = pin.key;
  let version = pin.index > 0 ? chain[pin.index - 1]!.version : -1;
  for (let i = pin.index; i < chain.length; i++) {
    const link = chain[i]!;
    if (link.version <= version) return undefined;
    if (!ed25519Verify(current, linkInput(descriptorId, i + 1, link.version, link.epoch, link.key), link.signature)) return undefined;
    current = link.key;
    version = link.version;
  }
  return current;
}

/**
 * Whether `key` is the end of a chain that verifies from `pin`, the first link after the pin (if any) made
 * after state version `after` (a resynchronising member's own version, §R6; -1, the default, for a joiner).
 */
export function isCertifiedModerator(key: Uint8Array, chain: ChainLink[], descriptorId: Uint8Array, pin: ChainPin, after = -1): boolean {
  const end = chainEnd(chain, descriptorId, pin);
  return end !== undefined && equalBytes(end, key) && (chain.length === pin.index || chain[pin.index]!.version > after);
}

/** Whether `a` is a prefix of `b` (same links, in order). */
export function isPrefix(a: ChainLink[], b: ChainLink[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equalBytes(a[i]!.key, b[i]!.key) || !equalBytes(a[i]!.signature, b[i]!.signature)) return false;
  return true;
}

/** §R6 Two chains fork when neither is a prefix of the other: a moderator signed two different successors. */
export function forks(a: ChainLink[], b: ChainLink[]): boolean {
  return !isPrefix(a, b) && !isPrefix(b, a);
}

/**
 * §R6 Whether `state`, sent by `sender`, comes from a successor certified after the state `own` a member
 * holds (one that missed the transfer): `state` names `sender` as moderator, its chain is longer than own's
 * and starts with it, the first new link was made at a version above own's (else it is stale: its signer was
 * no longer the moderator by then), and the new links verify from own's pin (own's moderator, at own's chain
 * length) to `sender`. A former moderator cannot make such a chain back to itself.
 */
export function isCertifiedSuccessor(own: Pick<RoomState, 'version' | 'moderator' | 'chain'>, state: Pick<RoomState, 'moderator' | 'chain'>, sender: Uint8Array, descriptorId: Uint8Array): boolean {
  if (!equalBytes(state.moderator, sender) || state.chain.length <= own.chain.length || !isPrefix(own.chain, state.chain)) return false;
  if (state.chain[own.chain.length]!.version <= own.version) return false;
  const end = chainEnd(state.chain, descriptorId, { key: own.moderator, index: own.chain.length });
  return end !== undefined && equalBytes(end, sender);
}
