/**
 * Noise SymmetricState (Noise Protocol Framework rev. 34, §5.2) with HASH = BLAKE2b (§12.8):
 * HASHLEN = 64, BLOCKLEN = 128, HMAC per RFC 2104 and HKDF per §4.3.
 */
import { concatBytes, utf8 } from '../bytes.js';
import { fail } from '../errors.js';
import { AEAD_KEY_BYTES, blake2b, memzero } from '../sodium.js';
import { CipherState } from './cipher-state.js';

/** §12.8 BLAKE2b: HASHLEN = 64. */
export const HASHLEN = 64;
/** §12.8 BLAKE2b: BLOCKLEN = 128. */
export const BLOCKLEN = 128;

const EMPTY = new Uint8Array(0);

/** §4.3 HASH(data): unkeyed BLAKE2b-512. */
export function hash(data: Uint8Array): Uint8Array {
  return blake2b(HASHLEN, data);
}

/** §4.3 HMAC-HASH(key, data) per RFC 2104 §2, with B = BLOCKLEN, built from unkeyed BLAKE2b. */
export function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(BLOCKLEN);
  if (key.length > BLOCKLEN) {
    const hk = hash(key);
    k.set(hk);
    memzero(hk);
  } else {
    k.set(key);
  }
  const ipadKey = new Uint8Array(BLOCKLEN);
  const opadKey = new Uint8Array(BLOCKLEN);
  for (let i = 0; i < BLOCKLEN; i++) {
    ipadKey[i] = k[i]! ^ 0x36;
    opadKey[i] = k[i]! ^ 0x5c;
  }
  const innerInput = concatBytes(ipadKey, data);
  const inner = hash(innerInput);
  const outerInput = concatBytes(opadKey, inner);
  const out = hash(outerInput);
  memzero(k, ipadKey, opadKey, innerInput, inner, outerInput);
  return out;
}

/** §4.3 HKDF(chaining_key, input_key_material, num_outputs) with num_outputs = 2. */
export function hkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const tempKey = hmac(chainingKey, ikm);
  const output1 = hmac(tempKey, Uint8Array.of(0x01));
  const output2 = hmac(tempKey, concatBytes(output1, Uint8Array.of(0x02)));
  memzero(tempKey);
  return [output1, output2];
}

/** §4.3 HKDF(chaining_key, input_key_material, num_outputs) with num_outputs = 3. */
export function hkdf3(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const tempKey = hmac(chainingKey, ikm);
  const output1 = hmac(tempKey, Uint8Array.of(0x01));
  const output2 = hmac(tempKey, concatBytes(output1, Uint8Array.of(0x02)));
  const output3 = hmac(tempKey, concatBytes(output2, Uint8Array.of(0x03)));
  memzero(tempKey);
  return [output1, output2, output3];
}

/** §5.2: "If HASHLEN is 64, then truncates temp_k to 32 bytes." Zeroes the full-length input. */
function truncateKey(tempK: Uint8Array): Uint8Array {
  const k = tempK.slice(0, AEAD_KEY_BYTES);
  memzero(tempK);
  return k;
}

/** §5.2 SymmetricState: a CipherState, a chaining key ck and a handshake hash h. */
export class SymmetricState {
  #cipher = new CipherState();
  #ck: Uint8Array = new Uint8Array(HASHLEN);
  #h: Uint8Array = new Uint8Array(HASHLEN);
  #destroyed = false;

  /** §5.2 InitializeSymmetric(protocol_name): h = name padded to HASHLEN, or HASH(name); ck = h; k = empty. */
  initializeSymmetric(protocolName: string): void {
    this.alive();
    const name = utf8(protocolName);
    if (name.length <= HASHLEN) {
      this.#h = new Uint8Array(HASHLEN);
      this.#h.set(name);
    } else {
      this.#h = hash(name);
    }
    this.#ck = this.#h.slice();
    this.#cipher.initializeKey(undefined);
  }

  /** §5.2 MixKey(input_key_material): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[:32]). */
  mixKey(ikm: Uint8Array): void {
    this.alive();
    const [ck, tempK] = hkdf2(this.#ck, ikm);
    memzero(this.#ck);
    this.#ck = ck;
    const k = truncateKey(tempK);
    this.#cipher.initializeKey(k);
    memzero(k);
  }

  /** §5.2 MixHash(data): h = HASH(h || data). */
  mixHash(data: Uint8Array): void {
    this.alive();
    this.#h = hash(concatBytes(this.#h, data));
  }

  /** §5.2 MixKeyAndHash(ikm): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h); InitializeKey(temp_k[:32]). */
  mixKeyAndHash(ikm: Uint8Array): void {
    this.alive();
    const [ck, tempH, tempK] = hkdf3(this.#ck, ikm);
    memzero(this.#ck);
    this.#ck = ck;
    this.mixHash(tempH);
    memzero(tempH);
    const k = truncateKey(tempK);
    this.#cipher.initializeKey(k);
    memzero(k);
  }

  /** §5.2 GetHandshakeHash(): a copy of h. */
  getHandshakeHash(): Uint8Array {
    this.alive();
    return this.#h.slice();
  }

  /** §5.1 HasKey() of the inner CipherState (decides whether an "s" token carries a 16-byte tag, §5.3). */
  hasKey(): boolean {
    this.alive();
    return this.#cipher.hasKey();
  }

  /** §5.2 EncryptAndHash(plaintext): ciphertext = EncryptWithAd(h, plaintext); MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    this.alive();
    const ciphertext = this.#cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** §5.2 DecryptAndHash(ciphertext): plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext). */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    this.alive();
    const plaintext = this.#cipher.decryptWithAd(this.#h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** §5.2 Split(): temp_k1, temp_k2 = HKDF(ck, zerolen, 2); two CipherStates keyed with temp_k1[:32], temp_k2[:32]. */
  split(): [CipherState, CipherState] {
    this.alive();
    const [tempK1, tempK2] = hkdf2(this.#ck, EMPTY);
    const k1 = truncateKey(tempK1);
    const k2 = truncateKey(tempK2);
    const c1 = new CipherState();
    const c2 = new CipherState();
    c1.initializeKey(k1);
    c2.initializeKey(k2);
    memzero(k1, k2);
    return [c1, c2];
  }

  /** An independent copy (ck, h and the inner CipherState), so that a trial read can fail without touching this state. */
  copy(): SymmetricState {
    this.alive();
    const c = new SymmetricState();
    c.#cipher.destroy();
    c.#cipher = this.#cipher.copy();
    c.#ck = this.#ck.slice();
    c.#h = this.#h.slice();
    return c;
  }

  /** Overwrites ck, h and the inner key; every later call throws E_CLOSED. */
  destroy(): void {
    memzero(this.#ck, this.#h);
    this.#cipher.destroy();
    this.#destroyed = true;
  }

  private alive(): void {
    if (this.#destroyed) throw fail('E_CLOSED', 'Noise SymmetricState was destroyed');
  }
}
