/**
 * Pair keys and pair tags (docs/PROTOCOL.md §7.2): the check that a handshake frame was made by the member
 * instance it claims to come from, verified with one MAC before the receiver spends anything on it (a budget
 * token, a hold-buffer slot, an X25519).
 *
 *   ss       = X25519(own static private key, peer's static public key)        (both sides get the same value)
 *   pair_key = KDF(ss, "sealsig/v3/pair-key", route_tag || lower id || lower instance || higher id || higher instance, 32)
 *   tag      = KDF(pair_key, "sealsig/v3/pair-tag", AD || noise_message, 16)
 *   body     = tag || noise_message
 *
 * Only the two instances of the pair hold ss: an outsider (no session id) and a third member (no static
 * private key of the pair) cannot make a tag, so they cannot spend the pair's init budget or make either side
 * run a Diffie-Hellman. The key is computed once per peer instance and kept with the peer (peer.ts).
 */
import { compareBytes, concatBytes } from './bytes.js';
import type { DecodedFrame } from './envelope.js';
import { fail } from './errors.js';
import { Labels, kdf } from './kdf.js';
import type { Endpoint } from './pairwise.js';
import { constantTimeEqual, memzero, x25519, type KeyPair } from './sodium.js';

/** The pair tag's length in bytes: the first bytes of every handshake body. */
export const PAIR_TAG_BYTES = 16;

/** §7.2 The pair key of this instance and a peer instance: the same on both sides. */
export function pairKey(route: Uint8Array, self: Endpoint, dh: KeyPair, peer: Endpoint, peerDhKey: Uint8Array): Uint8Array {
  const ss = x25519(dh.privateKey, peerDhKey);
  const [lower, higher] = compareBytes(self.id, peer.id) < 0 ? [self, peer] : [peer, self];
  try {
    return kdf(ss, Labels.pairKey, concatBytes(route, lower.id, lower.instance, higher.id, higher.instance), 32);
  } finally {
    memzero(ss);
  }
}

/** §7.2 The tag of a handshake frame: a keyed BLAKE2b over its header bytes and its Noise message. */
export function pairTag(key: Uint8Array, ad: Uint8Array, message: Uint8Array): Uint8Array {
  return kdf(key, Labels.pairTag, concatBytes(ad, message), PAIR_TAG_BYTES);
}

/**
 * §7.2 Checks a handshake frame's pair tag: a body too short to hold one is E_HANDSHAKE, a tag that does not
 * verify E_AUTH_FAILED. Returns the Noise message that follows the tag (a view into the frame).
 */
export function checkPairTag(key: Uint8Array, f: DecodedFrame): Uint8Array {
  if (f.body.length < PAIR_TAG_BYTES) throw fail('E_HANDSHAKE', 'handshake body shorter than its pair tag');
  const message = f.body.subarray(PAIR_TAG_BYTES);
  if (!constantTimeEqual(pairTag(key, f.ad, message), f.body.subarray(0, PAIR_TAG_BYTES))) {
    throw fail('E_AUTH_FAILED', 'handshake frame with a bad pair tag');
  }
  return message;
}
