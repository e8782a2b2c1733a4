/**
 * The moderator chain (docs/PROTOCOL.md §R6). The invite pins the first moderator's key. An explicit transfer
 * appends a link: the next moderator's key signed by the current one,
 *
 *   signature_i = Ed25519-Sign(key_{i-1}, "sealsig/v1/rooms/moderator-transfer" || 0x00 || lobby_topic || u32be(i) || key_i)
 *
 * with key_0 the pinned key. A joiner accepts a lobby peer as the moderator if its key is the end of a valid
 * chain from the pinned key; with several candidates it prefers the longest chain.
 */
import { ed25519Sign, ed25519Verify, equalBytes, u32be, utf8 } from '@sealsig/core';
import { RoomLabels, signatureInput } from './labels.js';
import { MAX_CHAIN, type ChainLink } from './wire.js';

function linkInput(lobbyTopic: string, index: number, key: Uint8Array): Uint8Array {
  return signatureInput(RoomLabels.transferSignature, utf8(lobbyTopic), u32be(index), key);
}

/** Appends a link handing moderation from the holder of `signingSecret` (the chain's current end) to `next`. */
export function extendChain(chain: ChainLink[], lobbyTopic: string, signingSecret: Uint8Array, next: Uint8Array): ChainLink[] {
  const index = chain.length + 1;
  return [...chain, { key: next.slice(), signature: ed25519Sign(signingSecret, linkInput(lobbyTopic, index, next)) }];
}

/** The chain's end if every link verifies from `pinned`, else undefined. */
export function chainEnd(chain: ChainLink[], lobbyTopic: string, pinned: Uint8Array): Uint8Array | undefined {
  if (chain.length > MAX_CHAIN) return undefined;
  let current = pinned;
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i]!;
    if (!ed25519Verify(current, linkInput(lobbyTopic, i + 1, link.key), link.signature)) return undefined;
    current = link.key;
  }
  return current;
}

/** Whether `key` is the pinned key or the end of a valid chain from it. */
export function isCertifiedModerator(key: Uint8Array, chain: ChainLink[], lobbyTopic: string, pinned: Uint8Array): boolean {
  const end = chainEnd(chain, lobbyTopic, pinned);
  return end !== undefined && equalBytes(end, key);
}
