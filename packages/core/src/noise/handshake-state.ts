/**
 * Noise HandshakeState (Noise Protocol Framework rev. 34, §5.3) for Noise_*_25519_ChaChaPoly_BLAKE2b,
 * with the psk modifiers of §9.
 *
 * Errors: a message out of turn, after the handshake, truncated, or with an "e"/"s" token for a key that is
 * already known throws E_HANDSHAKE; an AEAD failure (tampering, wrong psk, wrong prologue, wrong static key)
 * throws E_AUTH_FAILED; a low-order DH public key also throws E_AUTH_FAILED (from sodium.ts's x25519).
 * Any error while writing or reading a message leaves this object failed (§5.3: the handshake is aborted):
 * its secrets are wiped and every later call throws E_HANDSHAKE. A failed handshake is never retried; a reader
 * that must survive a forged message reads it on a copy() and keeps the original until a read succeeds.
 */
import { concatBytes } from '../bytes.js';
import { SealsigError, fail } from '../errors.js';
import { AEAD_TAG_BYTES, DH_BYTES, type KeyPair, memzero, x25519, x25519KeyPair } from '../sodium.js';
import type { CipherState } from './cipher-state.js';
import { type HandshakePattern, type PreToken, type Token, isPskPattern, parsePatternName } from './patterns.js';
import { SymmetricState } from './symmetric-state.js';

/** §3: every Noise message is at most 65535 bytes. */
export const NOISE_MAX_MESSAGE = 65535;

/** §9.1: a psk is 32 bytes. */
export const NOISE_PSK_BYTES = 32;

/** The suffix of every protocol name this implementation speaks (§8, §12.1, §12.3, §12.8). */
export const NOISE_PROTOCOL_SUFFIX = '_25519_ChaChaPoly_BLAKE2b';

/** Parameters of HandshakeState.initialize(). */
export interface HandshakeOptions {
  /** §8 protocol name; defaults to `Noise_${pattern}_25519_ChaChaPoly_BLAKE2b`. A "Noise_" name must match. */
  protocolName?: string;
  /** Handshake pattern name with optional psk modifiers, e.g. "XX", "KKpsk0", "NNpsk0+psk2". */
  pattern: string;
  /** Whether this party sends the first message. */
  initiator: boolean;
  /** §6 prologue: data both parties must agree on, hashed into h. */
  prologue: Uint8Array;
  /** Local static key pair (copied: destroy() never touches the caller's key). */
  s?: KeyPair;
  /** A fixed ephemeral key pair, for test vectors only; otherwise generated at the "e" token. */
  e?: KeyPair;
  /** Remote static public key, when the pattern has it in a pre-message. */
  rs?: Uint8Array;
  /** Remote ephemeral public key, when the pattern has it in a pre-message. */
  re?: Uint8Array;
  /** §9 psks, consumed in order by the "psk" tokens; each 32 bytes. */
  psks?: Uint8Array[];
}

/** What writeMessage() returns. */
export interface WriteResult {
  /** The handshake message to send. */
  message: Uint8Array;
  /** §5.3 Split() after the last handshake message: [c1, c2]; the initiator sends with c1, the responder with c2. */
  split?: [CipherState, CipherState];
}

/** What readMessage() returns. */
export interface ReadResult {
  /** The decrypted payload of the message read. */
  payload: Uint8Array;
  /** §5.3 Split() after the last handshake message: [c1, c2]; the initiator sends with c1, the responder with c2. */
  split?: [CipherState, CipherState];
}

/** Checks every key and psk length before anything is copied, so a refused call leaves no secret behind. */
function checkLengths(opts: HandshakeOptions): void {
  for (const [what, kp] of [['s', opts.s], ['e', opts.e]] as const) {
    if (kp !== undefined && (kp.publicKey.length !== DH_BYTES || kp.privateKey.length !== DH_BYTES)) {
      throw fail('E_INVALID_ARGUMENT', `${what} must be an X25519 key pair of ${DH_BYTES}-byte keys`);
    }
  }
  for (const [what, pk] of [['rs', opts.rs], ['re', opts.re]] as const) {
    if (pk !== undefined && pk.length !== DH_BYTES) throw fail('E_INVALID_ARGUMENT', `${what} must be ${DH_BYTES} bytes`);
  }
  for (const psk of opts.psks ?? []) {
    if (psk.length !== NOISE_PSK_BYTES) throw fail('E_INVALID_ARGUMENT', `a psk must be ${NOISE_PSK_BYTES} bytes`);
  }
}

function copyKeyPair(kp: KeyPair | undefined): KeyPair | undefined {
  return kp === undefined ? undefined : { publicKey: kp.publicKey.slice(), privateKey: kp.privateKey.slice() };
}

/** §5.3 HandshakeState: a SymmetricState, the local s/e and remote rs/re keys, the role and the message patterns. */
export class HandshakeState {
  readonly #symmetric: SymmetricState;
  private readonly pattern: HandshakePattern;
  private readonly initiator: boolean;
  private readonly psk: boolean;
  readonly #psks: Uint8Array[];
  #s: KeyPair | undefined;
  #e: KeyPair | undefined;
  #rs: Uint8Array | undefined;
  #re: Uint8Array | undefined;
  private messageIndex = 0;
  private pskIndex = 0;
  #finalHash: Uint8Array | undefined;
  private state: 'handshake' | 'done' | 'failed' | 'destroyed' = 'handshake';

  private constructor(pattern: HandshakePattern, opts: HandshakeOptions, symmetric = new SymmetricState()) {
    this.pattern = pattern;
    this.initiator = opts.initiator;
    this.psk = isPskPattern(pattern);
    this.#symmetric = symmetric;
    this.#s = copyKeyPair(opts.s);
    this.#e = copyKeyPair(opts.e);
    this.#rs = opts.rs?.slice();
    this.#re = opts.re?.slice();
    this.#psks = (opts.psks ?? []).map((psk) => psk.slice());
  }

  /** §5.3 Initialize(handshake_pattern, initiator, prologue, s, e, rs, re), plus the psks of §9. */
  static initialize(opts: HandshakeOptions): HandshakeState {
    const pattern = parsePatternName(opts.pattern);
    const defaultName = `Noise_${pattern.name}${NOISE_PROTOCOL_SUFFIX}`;
    const protocolName = opts.protocolName ?? defaultName;
    if (protocolName.startsWith('Noise_') && protocolName !== defaultName) {
      throw fail('E_INVALID_ARGUMENT', `protocol name "${protocolName}" does not match ${defaultName}`);
    }
    checkLengths(opts);
    const hs = new HandshakeState(pattern, opts);
    try {
      hs.checkKeys();
      hs.#symmetric.initializeSymmetric(protocolName);
      hs.#symmetric.mixHash(opts.prologue);
      hs.mixPreMessage(pattern.initiatorPreMessage, opts.initiator);
      hs.mixPreMessage(pattern.responderPreMessage, !opts.initiator);
    } catch (e) {
      hs.destroy();
      throw e;
    }
    return hs;
  }

  /** §5.3 the keys a pattern needs must be given at Initialize, and keys it transmits must not be. */
  private checkKeys(): void {
    const name = this.pattern.name;
    const mine = this.initiator ? this.pattern.initiatorPreMessage : this.pattern.responderPreMessage;
    const theirs = this.initiator ? this.pattern.responderPreMessage : this.pattern.initiatorPreMessage;
    const myParity = this.initiator ? 0 : 1;
    let sendsS = mine.includes('s');
    let receivesS = false;
    let receivesE = false;
    this.pattern.messages.forEach((tokens, i) => {
      if (i % 2 === myParity) {
        sendsS ||= tokens.includes('s');
      } else {
        receivesS ||= tokens.includes('s');
        receivesE ||= tokens.includes('e');
      }
    });
    const missing = (what: string) => fail('E_INVALID_ARGUMENT', `${name} needs ${what}`);
    const extra = (what: string) => fail('E_INVALID_ARGUMENT', `${name} transmits ${what}: do not pass it`);
    if (sendsS && this.#s === undefined) throw missing('a local static key s');
    if (mine.includes('e') && this.#e === undefined) throw missing('a pre-message ephemeral key e');
    if (theirs.includes('s') && this.#rs === undefined) throw missing('the remote static key rs');
    if (theirs.includes('e') && this.#re === undefined) throw missing('the remote ephemeral key re');
    if (receivesS && this.#rs !== undefined) throw extra('rs');
    if (receivesE && this.#re !== undefined) throw extra('re');
    const pskTokens = this.pattern.messages.reduce((n, m) => n + m.filter((t) => t === 'psk').length, 0);
    if (this.#psks.length !== pskTokens) throw fail('E_INVALID_ARGUMENT', `${name} takes ${pskTokens} psk(s), got ${this.#psks.length}`);
  }

  /** §5.3 Initialize: MixHash() each public key of a pre-message; §9.2: in psk handshakes "e" also MixKey(). */
  private mixPreMessage(tokens: readonly PreToken[], local: boolean): void {
    for (const token of tokens) {
      const key = token === 'e' ? (local ? this.#e?.publicKey : this.#re) : local ? this.#s?.publicKey : this.#rs;
      if (key === undefined) throw fail('E_INVALID_ARGUMENT', `pre-message key "${token}" missing`);
      this.#symmetric.mixHash(key);
      if (token === 'e' && this.psk) this.#symmetric.mixKey(key);
    }
  }

  /** True once the last handshake message was written or read (§5.3 Split). */
  get isComplete(): boolean {
    return this.state === 'done';
  }

  /** True if the next handshake message is ours to write (§5.3: messages are processed in turn). */
  get isMyTurn(): boolean {
    return this.state === 'handshake' && (this.messageIndex % 2 === 0) === this.initiator;
  }

  /** §5.2 GetHandshakeHash(): h, for channel binding (§11.2); final once the handshake is complete. */
  get handshakeHash(): Uint8Array {
    if (this.#finalHash !== undefined) return this.#finalHash.slice();
    this.usable();
    return this.#symmetric.getHandshakeHash();
  }

  /** The remote static public key rs (from a pre-message or received), if known. */
  get remoteStatic(): Uint8Array | undefined {
    return this.#rs?.slice();
  }

  /** The remote ephemeral public key re, if known. */
  get remoteEphemeral(): Uint8Array | undefined {
    return this.#re?.slice();
  }

  /** The handshake pattern in use, with its psk tokens. */
  get handshakePattern(): HandshakePattern {
    return this.pattern;
  }

  /** §5.3 WriteMessage(payload, message_buffer). */
  writeMessage(payload: Uint8Array): WriteResult {
    this.usable();
    if (!this.isMyTurn) throw fail('E_HANDSHAKE', 'Noise: it is not our turn to write a handshake message');
    try {
      const parts: Uint8Array[] = [];
      for (const token of this.pattern.messages[this.messageIndex]!) this.writeToken(token, parts);
      parts.push(this.#symmetric.encryptAndHash(payload));
      const message = concatBytes(...parts);
      if (message.length > NOISE_MAX_MESSAGE) {
        throw fail('E_FRAME_TOO_LARGE', `Noise message of ${message.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
      }
      return { message, ...this.advance() };
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** §5.3 ReadMessage(message, payload_buffer). */
  readMessage(message: Uint8Array): ReadResult {
    this.usable();
    if (this.isMyTurn) throw fail('E_HANDSHAKE', 'Noise: it is our turn to write, not to read');
    if (message.length > NOISE_MAX_MESSAGE) {
      this.abort();
      throw fail('E_FRAME_TOO_LARGE', `Noise message of ${message.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
    }
    try {
      const reader = { offset: 0 };
      for (const token of this.pattern.messages[this.messageIndex]!) this.readToken(token, message, reader);
      const rest = message.subarray(reader.offset);
      if (this.#symmetric.hasKey() && rest.length < AEAD_TAG_BYTES) {
        throw fail('E_HANDSHAKE', 'Noise message truncated: payload shorter than its tag');
      }
      const payload = this.#symmetric.decryptAndHash(rest);
      return { payload, ...this.advance() };
    } catch (e) {
      this.abort();
      throw e instanceof SealsigError ? e : fail('E_HANDSHAKE', 'Noise message rejected', e);
    }
  }

  /** §5.3 WriteMessage: the processing of one token. */
  private writeToken(token: Token, out: Uint8Array[]): void {
    switch (token) {
      case 'e': {
        if (this.#e === undefined) this.#e = x25519KeyPair();
        out.push(this.#e.publicKey.slice());
        this.#symmetric.mixHash(this.#e.publicKey);
        if (this.psk) this.#symmetric.mixKey(this.#e.publicKey);
        return;
      }
      case 's': {
        out.push(this.#symmetric.encryptAndHash(this.need(this.#s, 's').publicKey));
        return;
      }
      case 'psk': {
        this.mixPsk();
        return;
      }
      default:
        this.mixDh(token);
    }
  }

  /** §5.3 ReadMessage: the processing of one token; length is checked before every slice. */
  private readToken(token: Token, message: Uint8Array, reader: { offset: number }): void {
    switch (token) {
      case 'e': {
        if (this.#re !== undefined) throw fail('E_HANDSHAKE', 'Noise: remote ephemeral key already known');
        this.#re = take(message, reader, DH_BYTES).slice();
        this.#symmetric.mixHash(this.#re);
        if (this.psk) this.#symmetric.mixKey(this.#re);
        return;
      }
      case 's': {
        if (this.#rs !== undefined) throw fail('E_HANDSHAKE', 'Noise: remote static key already known');
        const len = DH_BYTES + (this.#symmetric.hasKey() ? AEAD_TAG_BYTES : 0);
        this.#rs = this.#symmetric.decryptAndHash(take(message, reader, len));
        return;
      }
      case 'psk': {
        this.mixPsk();
        return;
      }
      default:
        this.mixDh(token);
    }
  }

  /** §5.3 "ee", "es", "se", "ss": MixKey(DH(local, remote)) with the roles of §7.1. */
  private mixDh(token: 'ee' | 'es' | 'se' | 'ss'): void {
    let local: KeyPair;
    let remote: Uint8Array;
    if (token === 'ee') {
      local = this.need(this.#e, 'e');
      remote = this.need(this.#re, 're');
    } else if (token === 'ss') {
      local = this.need(this.#s, 's');
      remote = this.need(this.#rs, 'rs');
    } else if ((token === 'es') === this.initiator) {
      // "es" for the initiator, "se" for the responder: DH(e, rs).
      local = this.need(this.#e, 'e');
      remote = this.need(this.#rs, 'rs');
    } else {
      // "se" for the initiator, "es" for the responder: DH(s, re).
      local = this.need(this.#s, 's');
      remote = this.need(this.#re, 're');
    }
    const shared = x25519(local.privateKey, remote);
    this.#symmetric.mixKey(shared);
    memzero(shared);
  }

  /** §9.2 "psk": MixKeyAndHash(psk). */
  private mixPsk(): void {
    const psk = this.#psks[this.pskIndex];
    if (psk === undefined) throw fail('E_HANDSHAKE', 'Noise: no psk left for a "psk" token');
    this.pskIndex += 1;
    this.#symmetric.mixKeyAndHash(psk);
  }

  /** §5.3: after the last message pattern, return Split(); the handshake's secrets are then wiped. */
  private advance(): { split?: [CipherState, CipherState] } {
    this.messageIndex += 1;
    if (this.messageIndex < this.pattern.messages.length) return {};
    const split = this.#symmetric.split();
    this.#finalHash = this.#symmetric.getHandshakeHash();
    this.wipe();
    this.state = 'done';
    return { split };
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw fail('E_HANDSHAKE', `Noise: key "${what}" is not available for this token`);
    return value;
  }

  private usable(): void {
    if (this.state === 'destroyed') throw fail('E_CLOSED', 'Noise HandshakeState was destroyed');
    if (this.state === 'failed') throw fail('E_HANDSHAKE', 'Noise handshake already failed');
    if (this.state === 'done') throw fail('E_HANDSHAKE', 'Noise handshake is already complete');
  }

  private abort(): void {
    this.wipe();
    this.state = 'failed';
  }

  /** Overwrites s and e private keys, the psks, ck, h and k (the caller's own keys are copies, untouched). */
  private wipe(): void {
    memzero(this.#s?.privateKey, this.#e?.privateKey, ...this.#psks);
    this.#symmetric.destroy();
  }

  /**
   * An independent copy of an unfinished handshake (keys, ck, h, k, position). Reading a message on the copy
   * and keeping the original until the read succeeds lets a forged message fail without ending the handshake.
   */
  copy(): HandshakeState {
    this.usable();
    const opts: HandshakeOptions = { pattern: this.pattern.name, initiator: this.initiator, prologue: EMPTY, psks: this.#psks };
    if (this.#s) opts.s = this.#s;
    if (this.#e) opts.e = this.#e;
    if (this.#rs) opts.rs = this.#rs;
    if (this.#re) opts.re = this.#re;
    const c = new HandshakeState(this.pattern, opts, this.#symmetric.copy());
    c.messageIndex = this.messageIndex;
    c.pskIndex = this.pskIndex;
    return c;
  }

  /** Wipes every secret; every later call throws E_CLOSED (handshakeHash stays readable once complete). */
  destroy(): void {
    if (this.state === 'handshake') this.wipe();
    this.state = 'destroyed';
  }
}

const EMPTY = new Uint8Array(0);

/** §5.3 "the next DHLEN bytes of the message": E_HANDSHAKE if fewer remain. */
function take(message: Uint8Array, reader: { offset: number }, len: number): Uint8Array {
  if (message.length - reader.offset < len) throw fail('E_HANDSHAKE', 'Noise message truncated');
  const out = message.subarray(reader.offset, reader.offset + len);
  reader.offset += len;
  return out;
}
