/**
 * Noise CipherState (Noise Protocol Framework rev. 34, §5.1) over ChaChaPoly (§12.3).
 *
 * The nonce n is a JS number. The spec reserves 2^64-1 and lets n run up to 2^64-2; a JS number is exact only
 * up to 2^53-1, so this implementation refuses any n >= 2^53-1 (NOISE_MAX_NONCE) with SealsigError E_HANDSHAKE:
 * a channel that has sent 2^53-1 messages must be replaced by a new handshake. Sending 2^53 messages is not
 * a practical concern; the limit is only there so the counter can never lose precision silently.
 * The one exception is decryptWithNonce, whose n comes from the wire: there an out-of-range n is E_AUTH_FAILED
 * (no authentic message can carry it), so a forged counter is dropped like any other forgery.
 */
import { fail } from '../errors.js';
import { AEAD_KEY_BYTES, IETF_NONCE_BYTES, chachaOpen, chachaSeal, memzero } from '../sodium.js';

/** The first nonce value this implementation refuses: 2^53-1 (Number.MAX_SAFE_INTEGER). */
export const NOISE_MAX_NONCE = Number.MAX_SAFE_INTEGER;

/** §5.1 "k = empty" is modelled as undefined. */
const EMPTY = new Uint8Array(0);

const nonceInRange = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n < NOISE_MAX_NONCE;

/** Throws E_HANDSHAKE unless 0 <= n < 2^53-1 and n is an integer. */
function checkNonce(n: number): void {
  if (!nonceInRange(n)) {
    throw fail('E_HANDSHAKE', `Noise nonce ${n} is out of range (0 <= n < 2^53-1); start a new handshake`);
  }
}

/** §12.3: the 96-bit ChaChaPoly nonce is 32 bits of zeros followed by the little-endian 64-bit n. */
export function chachaPolyNonce(n: number): Uint8Array {
  return nonceOf(n).slice();
}

/**
 * The nonce of the message being processed. libsodium copies its arguments, and JavaScript runs one call
 * at a time, so one buffer serves every ENCRYPT/DECRYPT (one allocation less per message).
 */
const scratchNonce = new Uint8Array(IETF_NONCE_BYTES);
const scratchView = new DataView(scratchNonce.buffer);

function nonceOf(n: number): Uint8Array {
  checkNonce(n);
  scratchView.setUint32(4, n >>> 0, true);
  scratchView.setUint32(8, Math.floor(n / 0x1_0000_0000), true);
  return scratchNonce;
}

/** §4.2 / §12.3 ENCRYPT(k, n, ad, plaintext): ChaCha20-Poly1305 (RFC 8439), ciphertext || 16-byte tag. */
function encrypt(k: Uint8Array, n: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chachaSeal(k, nonceOf(n), plaintext, ad);
}

/** §4.2 / §12.3 DECRYPT(k, n, ad, ciphertext): throws SealsigError E_AUTH_FAILED on any mismatch. */
function decrypt(k: Uint8Array, n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return chachaOpen(k, nonceOf(n), ciphertext, ad);
}

/** §4.2 REKEY(k): the first 32 bytes of ENCRYPT(k, maxnonce = 2^64-1, zerolen, zeros). */
function rekeyKey(k: Uint8Array): Uint8Array {
  const maxNonce = new Uint8Array(IETF_NONCE_BYTES).fill(0xff, 4);
  const zeros = new Uint8Array(AEAD_KEY_BYTES);
  const sealed = chachaSeal(k, maxNonce, zeros, EMPTY);
  const next = sealed.slice(0, AEAD_KEY_BYTES);
  memzero(sealed);
  return next;
}

/** §5.1 CipherState: a key k (or empty) and a nonce n. */
export class CipherState {
  #k: Uint8Array | undefined;
  #n = 0;
  #destroyed = false;

  /** §5.1 InitializeKey(key): sets k = key (copied; undefined means empty) and n = 0. */
  initializeKey(key: Uint8Array | undefined): void {
    this.alive();
    if (key !== undefined && key.length !== AEAD_KEY_BYTES) {
      throw fail('E_INVALID_ARGUMENT', `a Noise cipher key is ${AEAD_KEY_BYTES} bytes, got ${key.length}`);
    }
    memzero(this.#k);
    this.#k = key === undefined ? undefined : key.slice();
    this.#n = 0;
  }

  /** §5.1 HasKey(): true if k is non-empty. */
  hasKey(): boolean {
    this.alive();
    return this.#k !== undefined;
  }

  /** §5.1 SetNonce(nonce): sets n (0 <= nonce < 2^53-1, else E_HANDSHAKE). */
  setNonce(nonce: number): void {
    this.alive();
    checkNonce(nonce);
    this.#n = nonce;
  }

  /** The next nonce EncryptWithAd/DecryptWithAd will use (for transport framing and tests). */
  get nonce(): number {
    return this.#n;
  }

  /** §5.1 EncryptWithAd(ad, plaintext): ENCRYPT(k, n++, ad, plaintext) if k is non-empty, else plaintext. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.alive();
    if (this.#k === undefined) return plaintext.slice();
    const ciphertext = encrypt(this.#k, this.#n, ad, plaintext);
    this.#n += 1;
    return ciphertext;
  }

  /** §5.1 DecryptWithAd(ad, ciphertext): DECRYPT(k, n++, ...); on failure throws E_AUTH_FAILED and n stays. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.alive();
    if (this.#k === undefined) return ciphertext.slice();
    const plaintext = decrypt(this.#k, this.#n, ad, ciphertext);
    this.#n += 1;
    return plaintext;
  }

  /** §11.4-style explicit nonce: ENCRYPT(k, n, ad, plaintext) without touching the counter. Needs a key. */
  encryptWithNonce(n: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return encrypt(this.key(), n, ad, plaintext);
  }

  /**
   * §11.4-style explicit nonce: DECRYPT(k, n, ad, ciphertext) without touching the counter. Needs a key.
   * n usually comes from the wire: one out of range (which encryptWithNonce never uses) is E_AUTH_FAILED.
   */
  decryptWithNonce(n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const k = this.key();
    if (!nonceInRange(n)) throw fail('E_AUTH_FAILED', `Noise nonce ${n} is out of range`);
    return decrypt(k, n, ad, ciphertext);
  }

  /** §5.1 Rekey(): k = REKEY(k) (§4.2); n is unchanged. */
  rekey(): void {
    const old = this.key();
    this.#k = rekeyKey(old);
    memzero(old);
  }

  /** An independent copy (key and nonce), so that a trial read can fail without touching this state. */
  copy(): CipherState {
    this.alive();
    const c = new CipherState();
    c.#k = this.#k?.slice();
    c.#n = this.#n;
    return c;
  }

  /** Overwrites the key; every later call throws E_CLOSED (never falls back to the "empty key" pass-through). */
  destroy(): void {
    memzero(this.#k);
    this.#k = undefined;
    this.#destroyed = true;
  }

  private alive(): void {
    if (this.#destroyed) throw fail('E_CLOSED', 'Noise CipherState was destroyed');
  }

  private key(): Uint8Array {
    this.alive();
    if (this.#k === undefined) throw fail('E_HANDSHAKE', 'Noise CipherState has no key');
    return this.#k;
  }
}
