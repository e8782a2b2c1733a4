/**
 * The CPace protocol flow (draft-irtf-cfrg-cpace §"CPace protocol instructions") for CPACE-RISTR255-SHA512:
 *
 *   A: g = calculate_generator(PRS, CI, sid), ya = sample_scalar(), Ya = scalar_mult(ya, g)  --Ya, ADa-->
 *   B: the same with yb                                                                        <--Yb, ADb--
 *   both: K = scalar_mult_vfy(own y, peer Y) (abort on G.I), ISK = H(lv_cat(DSI||"_ISK", sid, K) || transcript)
 *
 * Initiator and responder use transcript_ir (A's message first); the symmetric variant, for two parties without
 * roles, uses transcript_oc. ISK is equal on both sides iff PRS, CI, sid and both messages match; a wrong
 * password gives an unrelated ISK, so whoever sends first with a guess learns one bit per run, never a value
 * to test further guesses against offline.
 *
 * ISK is an intermediate key: derive application keys from it with a KDF, and confirm it (a MAC over the
 * transcript, or the first AEAD frame) before trusting the peer. That confirmation belongs to the join flow.
 */
import { SealsigError, equalBytes } from '@sealsig/core';
import { FIELD_SIZE_BYTES, calculateGenerator, sampleScalar, scalarMult, scalarMultVfy } from './group.js';
import { MAX_AD_BYTES } from './message.js';
import { cpaceReady } from './backend.js';
import { iskIr, iskSy, sidOutputIr, sidOutputOc } from './transcript.js';
import { utf8 } from './strings.js';

/** Bounds on the application's inputs. */
export const MAX_PASSWORD_BYTES = 1024;
/** Longest channel identifier CI, in bytes. */
export const MAX_CI_BYTES = 1024;
/** Longest session id, in bytes. */
export const MAX_SID_BYTES = 256;

/** Inputs of one CPace run (draft-irtf-cfrg-cpace). */
export interface CpaceOptions {
  /** The room password. A string is NFC-normalized and UTF-8 encoded; bytes are used as PRS unchanged. */
  password: string | Uint8Array;
  /** Channel identifier CI (e.g. room id and both parties' ids, lv-encoded). Optional, default empty. */
  ci?: Uint8Array;
  /** Session id, unique per run (draft: SHOULD be at least 8 bytes; fresh randomness from both sides). */
  sid: Uint8Array;
  /** This party's associated data (ADa or ADb), sent in clear with the share. Optional, default empty. */
  ad?: Uint8Array;
  /** Upper bound on the peer's AD, in bytes (default 1024). */
  maxPeerAdBytes?: number;
}

/** What a completed CPace run yields. */
export interface CpaceResult {
  /** The intermediate session key (64 bytes). Secret. */
  isk: Uint8Array;
  /** sid_output: a public session identifier both sides derive from the transcript (64 bytes). */
  sidOutput: Uint8Array;
}

/** One side of a CPace run: its share to send, and receive() for the peer's. */
export interface CpaceParty {
  /** Our public share Y (32 bytes), to send to the peer together with `ad`. */
  readonly message: Uint8Array;
  /** Our associated data, as given. */
  readonly ad: Uint8Array;
  /**
   * Consumes the peer's share and AD. Throws SealsigError E_AUTH_FAILED if the share is not a valid point or
   * gives the identity, E_FRAME_TOO_LARGE if peerAd exceeds its bound, E_HANDSHAKE when called twice.
   */
  finish(peerMessage: Uint8Array, peerAd?: Uint8Array): CpaceResult;
  /**
   * Erases the scalar of a run that will not finish (abandoned, timed out). Idempotent. This overwrites the
   * scalar's bytes, which is all JavaScript allows: the bigint copies @noble/curves made while computing our
   * share cannot be overwritten (docs/PROTOCOL.md §R4).
   */
  destroy(): void;
}

type Role = 'initiator' | 'responder' | 'symmetric';

const EMPTY = new Uint8Array(0);

function bytesArg(name: string, value: Uint8Array | undefined, max: number): Uint8Array {
  if (value === undefined) return EMPTY;
  if (!(value instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', `CPace: ${name} must be a Uint8Array`);
  if (value.length > max) throw new SealsigError('E_INVALID_ARGUMENT', `CPace: ${name} longer than ${max} bytes`);
  return value;
}

/** PRS from the password: NFC so that the same typed password gives the same bytes on every platform. */
export function passwordToPrs(password: string | Uint8Array): Uint8Array {
  const prs = typeof password === 'string' ? utf8(password.normalize('NFC')) : password;
  if (!(prs instanceof Uint8Array) || prs.length === 0 || prs.length > MAX_PASSWORD_BYTES) {
    throw new SealsigError('E_INVALID_ARGUMENT', `CPace: the password must be 1..${MAX_PASSWORD_BYTES} bytes`);
  }
  return prs;
}

async function startParty(role: Role, options: CpaceOptions): Promise<CpaceParty> {
  if (typeof options !== 'object' || options === null) throw new SealsigError('E_INVALID_ARGUMENT', 'CPace: options missing');
  const prs = passwordToPrs(options.password);
  const ci = bytesArg('ci', options.ci, MAX_CI_BYTES);
  if (!(options.sid instanceof Uint8Array)) throw new SealsigError('E_INVALID_ARGUMENT', 'CPace: sid must be a Uint8Array');
  const sid = bytesArg('sid', options.sid, MAX_SID_BYTES);
  const ad = bytesArg('ad', options.ad, MAX_AD_BYTES);
  const maxPeerAd = options.maxPeerAdBytes ?? MAX_AD_BYTES;
  await cpaceReady();

  const g = calculateGenerator(prs, ci, sid);
  let y: Uint8Array | undefined = sampleScalar();
  const Y = scalarMult(y, g);
  g.fill(0); // the generator is a function of the password
  if (typeof options.password === 'string') prs.fill(0); // our own encoding of it

  return {
    message: Y,
    ad,
    destroy(): void {
      y?.fill(0);
      y = undefined;
    },
    finish(peerMessage: Uint8Array, peerAd: Uint8Array = EMPTY): CpaceResult {
      if (y === undefined) throw new SealsigError('E_HANDSHAKE', 'CPace: finish() already called');
      if (!(peerAd instanceof Uint8Array)) throw new SealsigError('E_FRAME_MALFORMED', 'CPace: peer AD must be bytes');
      if (peerAd.length > maxPeerAd) throw new SealsigError('E_FRAME_TOO_LARGE', 'CPace: peer AD larger than its bound');
      const ownScalar = y;
      y = undefined; // one run, one scalar (draft §"Nonce values": ya, yb MUST NOT be reused)
      try {
        if (!(peerMessage instanceof Uint8Array) || peerMessage.length !== FIELD_SIZE_BYTES) {
          throw new SealsigError('E_AUTH_FAILED', 'CPace: the peer share is not 32 bytes');
        }
        if (equalBytes(peerMessage, Y)) throw new SealsigError('E_AUTH_FAILED', 'CPace: the peer reflected our share');
        const K = scalarMultVfy(ownScalar, peerMessage);
        const [Ya, ADa, Yb, ADb] = role === 'responder' ? [peerMessage, peerAd, Y, ad] : [Y, ad, peerMessage, peerAd];
        const result: CpaceResult =
          role === 'symmetric'
            ? { isk: iskSy(sid, K, Ya, ADa, Yb, ADb), sidOutput: sidOutputOc(Ya, ADa, Yb, ADb) }
            : { isk: iskIr(sid, K, Ya, ADa, Yb, ADb), sidOutput: sidOutputIr(Ya, ADa, Yb, ADb) };
        K.fill(0);
        return result;
      } finally {
        ownScalar.fill(0);
      }
    },
  };
}

/** Party A of the initiator-responder setting: its share comes first in the transcript. */
export function cpaceInitiator(options: CpaceOptions): Promise<CpaceParty> {
  return startParty('initiator', options);
}

/** Party B of the initiator-responder setting. */
export function cpaceResponder(options: CpaceOptions): Promise<CpaceParty> {
  return startParty('responder', options);
}

/** A party of the symmetric setting (no roles; transcript_oc orders the two messages). */
export function cpaceSymmetric(options: CpaceOptions): Promise<CpaceParty> {
  return startParty('symmetric', options);
}
