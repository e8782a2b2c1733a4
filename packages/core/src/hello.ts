/**
 * The hello's payload (docs/PROTOCOL.md §6.2): [ed25519_public, x25519_public, want_reply, meta, work].
 */
import type { OpenedBroadcast } from './broadcast.js';
import { equalBytes, isBytes } from './bytes.js';
import { encodeCanonical } from './canonical-encode.js';
import { fail } from './errors.js';
import { isLowOrderX25519 } from './low-order.js';
import type { Peer } from './peer.js';
import { DH_BYTES, SIGN_PUBLIC_BYTES } from './sodium.js';
import { WORK_NONCE_BYTES } from './admission.js';

/** The largest peer metadata, encoded. */
export const MAX_META_BYTES = 1024;

export type Hello = [signingKey: Uint8Array, dhKey: Uint8Array, wantReply: boolean, meta: unknown, work: Uint8Array | null];

/** §6.2 Reads a hello's payload; a small-order X25519 key and meta over MAX_META_BYTES are E_FRAME_MALFORMED. */
export function parseHello(opened: OpenedBroadcast): Hello {
  const p = opened.payload;
  if (
    !Array.isArray(p) ||
    p.length !== 5 ||
    !isBytes(p[0], SIGN_PUBLIC_BYTES) ||
    !isBytes(p[1], DH_BYTES) ||
    typeof p[2] !== 'boolean' ||
    !(p[4] === null || isBytes(p[4], WORK_NONCE_BYTES))
  ) {
    throw fail('E_FRAME_MALFORMED', 'bad hello');
  }
  if (isLowOrderX25519(p[1])) throw fail('E_FRAME_MALFORMED', 'hello carries a small-order X25519 key');
  if (p[3] !== null && encodeCanonical(p[3]).length > MAX_META_BYTES) throw fail('E_FRAME_MALFORMED', `hello meta over ${MAX_META_BYTES} bytes`);
  return p as Hello;
}

/**
 * §6.2 An instance's keys are fixed by its first accepted hello: a later hello with other keys is
 * E_FRAME_MALFORMED and changes nothing. Returns the hello's want_reply.
 */
export function checkSameKeys(peer: Peer, opened: OpenedBroadcast): boolean {
  const [signingKey, dhKey, wantReply] = parseHello(opened);
  if (!equalBytes(signingKey, peer.signingKey) || !equalBytes(dhKey, peer.dhKey)) {
    throw fail('E_FRAME_MALFORMED', 'hello from a known instance with other keys');
  }
  return wantReply;
}

/** The app's peer metadata: null when absent, else a value encodable in at most MAX_META_BYTES. */
export function checkMeta(meta: unknown): unknown {
  if (meta === undefined || meta === null) return null;
  let length: number;
  try {
    length = encodeCanonical(meta).length;
  } catch (e) {
    throw fail('E_INVALID_ARGUMENT', 'meta cannot be encoded as msgpack', e);
  }
  if (length > MAX_META_BYTES) throw fail('E_INVALID_ARGUMENT', `meta takes ${length} bytes encoded; at most ${MAX_META_BYTES}`);
  return meta;
}
