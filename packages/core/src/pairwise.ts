/**
 * Pairwise channels (docs/PROTOCOL.md §7): Noise_KKpsk0_25519_ChaChaPoly_BLAKE2b between two member
 * instances, with the epoch's PSK and the session binding in the prologue, then explicit-nonce transport
 * messages (the header counter is the ChaChaPoly nonce, Noise §11.4) checked by a replay window.
 *
 * This module holds the frame-level pieces; the state machine (who initiates, retries, queues) lives in
 * channels.ts. A handshake body starts with the pair tag (pair-tag.ts).
 */
import { concatBytes, equalBytes, utf8 } from './bytes.js';
import { decodeContent, encodeContent } from './codec.js';
import { encodeFrame, encodeHeader, type DecodedFrame, type Header } from './envelope.js';
import { fail } from './errors.js';
import { CipherState, HandshakeState } from './noise/index.js';
import { pad, unpad } from './padding.js';
import { checkPairTag, pairTag } from './pair-tag.js';
import { ReplayWindow } from './replay.js';
import type { KeyPair } from './sodium.js';

export const NOISE_PATTERN = 'KKpsk0';
/** The Noise protocol of pairwise handshakes (§7.1). */
export const NOISE_PROTOCOL_NAME = 'Noise_KKpsk0_25519_ChaChaPoly_BLAKE2b';
const PROLOGUE_LABEL = utf8('sealsig/v3/pairwise');

/** The direct message types (§7.4). */
export const DirectType = {
  /** Key confirmation: the initiator's first transport message (§7.5). */
  confirm: 0,
  /** An app message (Session.send). */
  app: 1,
  /** An RTCSessionDescriptionInit (Session.sendDescription). */
  description: 2,
  /** An RTCIceCandidateInit or null (Session.sendCandidate). */
  candidate: 3,
} as const;

export interface Endpoint {
  id: Uint8Array;
  instance: Uint8Array;
}

/** §7.1 prologue = "sealsig/v3/pairwise" || route || initiator id || instance || responder id || instance. */
export function pairwisePrologue(route: Uint8Array, initiator: Endpoint, responder: Endpoint): Uint8Array {
  return concatBytes(PROLOGUE_LABEL, route, initiator.id, initiator.instance, responder.id, responder.instance);
}

export interface HandshakeParams {
  initiator: boolean;
  prologue: Uint8Array;
  s: KeyPair;
  rs: Uint8Array;
  psk: Uint8Array;
  /** Fixed ephemeral, for test vectors only. */
  e?: KeyPair;
}

/** §7.1 A Noise_KKpsk0 handshake state for one side of a pairwise channel. */
export function newHandshake(p: HandshakeParams): HandshakeState {
  return HandshakeState.initialize({
    pattern: NOISE_PATTERN,
    initiator: p.initiator,
    prologue: p.prologue,
    s: p.s,
    rs: p.rs,
    psks: [p.psk],
    ...(p.e ? { e: p.e } : {}),
  });
}

/**
 * §7.2 Writes the next handshake message as a frame with this header; split is set once the handshake is
 * done. The Noise payload is the frame's own header bytes, so the handshake authenticates the header
 * (timestamp, instance, epoch) that travels in clear. The body is the pair tag (under `pairKey`), then the
 * Noise message.
 */
export function writeHandshakeFrame(hs: HandshakeState, header: Header, pairKey: Uint8Array): {
  /** The frame to publish. */
  frame: Uint8Array;
  /** The two cipher states, [c1, c2], once the handshake is done (§5.3 Split). */
  split?: [CipherState, CipherState];
} {
  const ad = encodeHeader(header);
  const { message, split } = hs.writeMessage(ad);
  return { frame: encodeFrame(ad, concatBytes(pairTag(pairKey, ad, message), message)), ...(split ? { split } : {}) };
}

/**
 * §7.2 Reads a handshake frame: its pair tag under `pairKey` (E_HANDSHAKE, E_AUTH_FAILED), then the Noise
 * message, whose decrypted payload must equal the header bytes. split is set once the handshake is done.
 */
export function readHandshakeFrame(hs: HandshakeState, frame: DecodedFrame, pairKey: Uint8Array): {
  /** The two cipher states, [c1, c2], once the handshake is done (§5.3 Split). */
  split?: [CipherState, CipherState];
} {
  const { payload, split } = hs.readMessage(checkPairTag(pairKey, frame));
  if (!equalBytes(payload, frame.ad)) throw fail('E_AUTH_FAILED', 'handshake payload does not match the frame header');
  return split ? { split } : {};
}

/** The transport keys of an established channel, one direction each. */
export class ChannelKeys {
  #send: CipherState;
  #recv: CipherState;
  #sendCounter = 0;
  /** The receive replay window (§7.3). */
  readonly window = new ReplayWindow();

  constructor(send: CipherState, recv: CipherState) {
    this.#send = send;
    this.#recv = recv;
  }

  /** The counter the next sealed message will carry. */
  nextCounter(): number {
    return this.#sendCounter;
  }

  /** §7.3 Seals a direct message; the header's counter must be nextCounter(). */
  seal(header: Header, type: number, payload: unknown): Uint8Array {
    return this.sealContent(header, encodeContent(type, payload));
  }

  /** §7.3 Seals content already encoded (§5.1): what a send queued before its channel was up. */
  sealContent(header: Header, content: Uint8Array): Uint8Array {
    if (header.counter !== this.#sendCounter) throw fail('E_INVALID_ARGUMENT', 'counter out of sequence');
    const ad = encodeHeader(header);
    const body = this.#send.encryptWithNonce(header.counter, ad, pad(content));
    this.#sendCounter++;
    return encodeFrame(ad, body);
  }

  /**
   * §7.3 Checks a direct frame without using it: the window (E_REPLAY), then the decryption (E_AUTH_FAILED).
   * The window is not updated: a frame checked so is opened again later (held for a timed-out peer, §8.3).
   */
  check(frame: DecodedFrame): void {
    const n = frame.header.counter;
    const verdict = this.window.check(n);
    if (verdict !== 'ok') throw fail('E_REPLAY', `counter ${n} is ${verdict}`);
    this.#recv.decryptWithNonce(n, frame.ad, frame.body);
  }

  /** §7.3 Opens a direct message: window check, decryption, then window update (RFC 4303 §3.4.3). */
  open(frame: DecodedFrame): {
    /** The direct message type (DirectType). */
    type: number;
    /** The decoded content. */
    payload: unknown;
  } {
    const n = frame.header.counter;
    const verdict = this.window.check(n);
    if (verdict !== 'ok') throw fail('E_REPLAY', `counter ${n} is ${verdict}`);
    const padded = this.#recv.decryptWithNonce(n, frame.ad, frame.body);
    this.window.accept(n);
    return decodeContent(unpad(padded));
  }

  /** Erases both directions' keys. */
  destroy(): void {
    this.#send.destroy();
    this.#recv.destroy();
  }
}
