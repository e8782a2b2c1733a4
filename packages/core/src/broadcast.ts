/**
 * Room broadcasts (docs/PROTOCOL.md §6): sealed with the epoch's broadcast key (XChaCha20-Poly1305,
 * draft-irtf-cfrg-xchacha-03) and signed by the sender (Ed25519, RFC 8032) inside the ciphertext.
 *
 *   content   = msgpack([type, payload])
 *   signature = Ed25519(sender key, "sealsig/v3/broadcast-signature" || 0x00 || header || content)
 *   body      = nonce(24) || XChaCha20-Poly1305(key, nonce, pad(content || signature), ad = header)
 */
import { concatBytes, utf8 } from './bytes.js';
import { decodeContent, encodeContent } from './codec.js';
import { encodeFrame, encodeHeader, type DecodedFrame, type Header } from './envelope.js';
import { fail } from './errors.js';
import { pad, unpad } from './padding.js';
import {
  AEAD_TAG_BYTES,
  SIGNATURE_BYTES,
  XNONCE_BYTES,
  ed25519Sign,
  ed25519Verify,
  xchachaOpen,
  xchachaSeal,
} from './sodium.js';

const SIGNATURE_CONTEXT = concatBytes(utf8('sealsig/v3/broadcast-signature'), new Uint8Array(1));

/** The broadcast message types (§6.2). */
export const BroadcastType = {
  /** A member's announcement and heartbeat (§6.2). */
  hello: 1,
  /** A member leaving (§6.2). */
  bye: 2,
  /** An app broadcast (Session.broadcast). */
  app: 3,
  /** A request to the lower member id of a pair to start the handshake (§7.6). */
  initRequest: 4,
} as const;

export interface SealBroadcastInput {
  header: Header;
  key: Uint8Array;
  signingKey: Uint8Array;
  type: number;
  payload: unknown;
  /** Fixed nonce, for test vectors only; otherwise 24 bytes from crypto.getRandomValues. */
  nonce?: Uint8Array;
}

/**
 * A random 24-byte nonce. Nonces are public (they travel in clear), so they are drawn from the platform
 * CSPRNG 42 at a time: one crypto.getRandomValues call per 1,008 bytes instead of one per frame.
 */
const noncePool = new Uint8Array(42 * XNONCE_BYTES);
let noncePoolUsed = noncePool.length;
function freshNonce(): Uint8Array {
  if (noncePoolUsed === noncePool.length) {
    globalThis.crypto.getRandomValues(noncePool);
    noncePoolUsed = 0;
  }
  noncePoolUsed += XNONCE_BYTES;
  return noncePool.subarray(noncePoolUsed - XNONCE_BYTES, noncePoolUsed); // its users copy it before the next refill
}

/** §6.1 Seals a broadcast into a complete frame. */
export function sealBroadcast(input: SealBroadcastInput): Uint8Array {
  const ad = encodeHeader(input.header);
  const content = encodeContent(input.type, input.payload);
  const signature = ed25519Sign(input.signingKey, concatBytes(SIGNATURE_CONTEXT, ad, content));
  const padded = pad(concatBytes(content, signature));
  const nonce = input.nonce ?? freshNonce();
  const sealed = xchachaSeal(input.key, nonce, padded, ad);
  return encodeFrame(ad, concatBytes(nonce, sealed));
}

export interface OpenedBroadcast {
  type: number;
  payload: unknown;
  /** The signed bytes and signature, checked by verifyBroadcast once the sender's key is known. */
  signed: Uint8Array;
  signature: Uint8Array;
}

/** §6.1 Decrypts a broadcast frame with the epoch's key (E_AUTH_FAILED) and decodes its content. */
export function openBroadcast(frame: DecodedFrame, key: Uint8Array): OpenedBroadcast {
  const { body, ad } = frame;
  if (body.length < XNONCE_BYTES + AEAD_TAG_BYTES) throw fail('E_FRAME_MALFORMED', 'broadcast body too short');
  const padded = xchachaOpen(key, body.subarray(0, XNONCE_BYTES), body.subarray(XNONCE_BYTES), ad);
  const inner = unpad(padded);
  if (inner.length < SIGNATURE_BYTES + 1) throw fail('E_FRAME_MALFORMED', 'broadcast content too short');
  const content = inner.subarray(0, inner.length - SIGNATURE_BYTES);
  const { type, payload } = decodeContent(content);
  return {
    type,
    payload,
    signed: concatBytes(SIGNATURE_CONTEXT, ad, content),
    signature: inner.subarray(inner.length - SIGNATURE_BYTES),
  };
}

/** §6.1 The sender check: the signature verifies under the sender's Ed25519 key. */
export function verifyBroadcast(opened: OpenedBroadcast, signingPublicKey: Uint8Array): boolean {
  return ed25519Verify(signingPublicKey, opened.signed, opened.signature);
}
