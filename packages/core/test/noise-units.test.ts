/** Unit checks of the Noise building blocks that the cacophony vectors do not reach (nonce limits, rekey, ...). */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealsigError } from '../src/errors.js';
import { CipherState, NOISE_MAX_NONCE, chachaPolyNonce } from '../src/noise/cipher-state.js';
import { HandshakeState } from '../src/noise/handshake-state.js';
import { BASE_PATTERNS, DEFERRED_PATTERNS, FUNDAMENTAL_PATTERNS, ONE_WAY_PATTERNS, parsePatternName } from '../src/noise/patterns.js';
import { SymmetricState, hkdf2, hmac } from '../src/noise/symmetric-state.js';
import { chachaSeal, randomBytes, ready, x25519KeyPair } from '../src/sodium.js';

beforeAll(async () => {
  await ready();
});

const EMPTY = new Uint8Array(0);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SealsigError) return e.code;
    throw e;
  }
  return 'no error';
}

function keyed(key = randomBytes(32)): CipherState {
  const c = new CipherState();
  c.initializeKey(key);
  return c;
}

describe('CipherState (§5.1, §12.3)', () => {
  it('passes plaintext through while it has no key', () => {
    const c = new CipherState();
    expect(c.hasKey()).toBe(false);
    expect(c.encryptWithAd(EMPTY, Uint8Array.of(7))).toEqual(Uint8Array.of(7));
    expect(c.nonce).toBe(0);
  });

  it('builds the nonce as 4 zero bytes || 64-bit little-endian n', () => {
    expect(chachaPolyNonce(0)).toEqual(new Uint8Array(12));
    expect(chachaPolyNonce(0x0102_0304_0506)).toEqual(Uint8Array.of(0, 0, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0));
    expect(chachaPolyNonce(NOISE_MAX_NONCE - 1)).toEqual(
      Uint8Array.of(0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
    );
  });

  it('encrypts with n and then n+1, the same as ChaCha20-Poly1305 with that nonce', () => {
    const key = randomBytes(32);
    const c = keyed(key);
    c.setNonce(2 ** 40 + 3);
    const ad = Uint8Array.of(9, 9);
    expect(c.encryptWithAd(ad, Uint8Array.of(1))).toEqual(chachaSeal(key, chachaPolyNonce(2 ** 40 + 3), Uint8Array.of(1), ad));
    expect(c.nonce).toBe(2 ** 40 + 4);
  });

  it('refuses n >= 2^53-1 (and non-integers) with E_HANDSHAKE', () => {
    const c = keyed();
    expect(code(() => c.setNonce(NOISE_MAX_NONCE))).toBe('E_HANDSHAKE');
    expect(code(() => c.setNonce(-1))).toBe('E_HANDSHAKE');
    expect(code(() => c.setNonce(1.5))).toBe('E_HANDSHAKE');
    c.setNonce(NOISE_MAX_NONCE - 1);
    c.encryptWithAd(EMPTY, EMPTY); // the last nonce this implementation uses
    expect(c.nonce).toBe(NOISE_MAX_NONCE);
    expect(code(() => c.encryptWithAd(EMPTY, EMPTY))).toBe('E_HANDSHAKE');
    expect(code(() => c.decryptWithAd(EMPTY, new Uint8Array(16)))).toBe('E_HANDSHAKE');
    expect(code(() => c.encryptWithNonce(NOISE_MAX_NONCE, EMPTY, EMPTY))).toBe('E_HANDSHAKE');
    // A nonce read from the wire that no sender could have used is a forgery, not a local state problem.
    expect(code(() => c.decryptWithNonce(NOISE_MAX_NONCE, EMPTY, new Uint8Array(16)))).toBe('E_AUTH_FAILED');
    expect(code(() => c.decryptWithNonce(-1, EMPTY, new Uint8Array(16)))).toBe('E_AUTH_FAILED');
  });

  it('does not advance n when decryption fails (E_AUTH_FAILED)', () => {
    const key = randomBytes(32);
    const [a, b] = [keyed(key), keyed(key)];
    const ct = a.encryptWithAd(EMPTY, Uint8Array.of(1, 2));
    expect(code(() => b.decryptWithAd(Uint8Array.of(1), ct))).toBe('E_AUTH_FAILED');
    expect(code(() => b.decryptWithAd(EMPTY, ct.subarray(0, 15)))).toBe('E_AUTH_FAILED');
    expect(b.nonce).toBe(0);
    expect(b.decryptWithAd(EMPTY, ct)).toEqual(Uint8Array.of(1, 2));
    expect(b.nonce).toBe(1);
  });

  it('explicit-nonce helpers accept any order and leave the counter alone', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 2 ** 48 }), { minLength: 1, maxLength: 8 }), (nonces) => {
        const key = randomBytes(32);
        const [a, b] = [keyed(key), keyed(key)];
        const sealed = nonces.map((n) => [n, a.encryptWithNonce(n, EMPTY, Uint8Array.of(n & 0xff))] as const);
        for (const [n, ct] of sealed.reverse()) expect(b.decryptWithNonce(n, EMPTY, ct)).toEqual(Uint8Array.of(n & 0xff));
        expect(a.nonce).toBe(0);
        expect(b.nonce).toBe(0);
      }),
    );
    expect(code(() => new CipherState().encryptWithNonce(0, EMPTY, EMPTY))).toBe('E_HANDSHAKE');
  });

  it('rekey() = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros) and keeps both sides in step (§4.2)', () => {
    const key = randomBytes(32);
    const [a, b, stale] = [keyed(key), keyed(key), keyed(key)];
    expect(b.decryptWithAd(EMPTY, a.encryptWithAd(EMPTY, Uint8Array.of(4)))).toEqual(Uint8Array.of(4));
    a.rekey();
    b.rekey();
    expect(a.nonce).toBe(1); // §5.1: Rekey() leaves n alone
    const maxNonce = Uint8Array.of(0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255);
    const expected = keyed(chachaSeal(key, maxNonce, new Uint8Array(32), EMPTY).subarray(0, 32));
    expected.setNonce(1);
    const ct = a.encryptWithAd(EMPTY, Uint8Array.of(5));
    expect(ct).toEqual(expected.encryptWithAd(EMPTY, Uint8Array.of(5)));
    expect(b.decryptWithAd(EMPTY, ct)).toEqual(Uint8Array.of(5));
    stale.setNonce(1);
    expect(code(() => stale.decryptWithAd(EMPTY, ct))).toBe('E_AUTH_FAILED');
  });

  it('refuses every call after destroy() with E_CLOSED (never falls back to plaintext)', () => {
    const c = keyed();
    c.destroy();
    expect(code(() => c.hasKey())).toBe('E_CLOSED');
    expect(code(() => c.encryptWithAd(EMPTY, Uint8Array.of(1)))).toBe('E_CLOSED');
    expect(code(() => c.encryptWithNonce(0, EMPTY, Uint8Array.of(1)))).toBe('E_CLOSED');
  });

  it('refuses keys that are not 32 bytes with E_INVALID_ARGUMENT', () => {
    expect(code(() => new CipherState().initializeKey(new Uint8Array(31)))).toBe('E_INVALID_ARGUMENT');
  });
});

describe('SymmetricState (§4.3, §5.2)', () => {
  it('HMAC-BLAKE2b equals OpenSSL HMAC with blake2b512 (RFC 2104), for short and long keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        const expected = createHmac('blake2b512', key).update(data).digest();
        expect(Buffer.from(hmac(key, data)).equals(expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('HKDF follows §4.3 (output1 = HMAC(temp, 0x01), output2 = HMAC(temp, output1 || 0x02))', () => {
    const ck = randomBytes(64);
    const ikm = randomBytes(32);
    const temp = createHmac('blake2b512', ck).update(ikm).digest();
    const o1 = createHmac('blake2b512', temp).update(Uint8Array.of(1)).digest();
    const o2 = createHmac('blake2b512', temp).update(Buffer.concat([o1, Uint8Array.of(2)])).digest();
    const [a, b] = hkdf2(ck, ikm);
    expect(Buffer.from(a).equals(o1) && Buffer.from(b).equals(o2)).toBe(true);
  });

  it('pads a short protocol name into h and hashes a long one', () => {
    const short = new SymmetricState();
    short.initializeSymmetric('Noise_NN_25519_ChaChaPoly_BLAKE2b');
    const h = short.getHandshakeHash();
    expect(new TextDecoder().decode(h.subarray(0, 33))).toBe('Noise_NN_25519_ChaChaPoly_BLAKE2b');
    expect(h.subarray(33).every((b) => b === 0)).toBe(true);
    const long = new SymmetricState();
    long.initializeSymmetric('x'.repeat(65));
    expect(long.getHandshakeHash()).toHaveLength(64);
    long.destroy();
    expect(code(() => long.getHandshakeHash())).toBe('E_CLOSED');
  });
});

describe('patterns (§7, §9.2)', () => {
  it('has 3 one-way, 12 fundamental and 23 deferred patterns', () => {
    expect(Object.keys(ONE_WAY_PATTERNS)).toHaveLength(3);
    expect(Object.keys(FUNDAMENTAL_PATTERNS)).toHaveLength(12);
    expect(Object.keys(DEFERRED_PATTERNS)).toHaveLength(23);
    expect(Object.keys(BASE_PATTERNS)).toHaveLength(38);
  });

  it('applies psk0 at the start of message 1 and pskN at the end of message N', () => {
    expect(parsePatternName('KKpsk0').messages).toEqual([['psk', 'e', 'es', 'ss'], ['e', 'ee', 'se']]);
    expect(parsePatternName('XXpsk3').messages).toEqual([['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']]);
    expect(parsePatternName('NNpsk0+psk2').messages).toEqual([['psk', 'e'], ['e', 'ee', 'psk']]);
    expect(parsePatternName('NNpsk0+psk2').name).toBe('NNpsk0+psk2');
    expect(parsePatternName('Npsk0').oneWay).toBe(true);
    // The base tables are not modified by a parse.
    expect(FUNDAMENTAL_PATTERNS.KK!.messages[0]).toEqual(['e', 'es', 'ss']);
  });

  it('rejects unknown patterns and modifiers with E_INVALID_ARGUMENT', () => {
    for (const name of ['', 'ZZ', 'XXpsk', 'XXpsk4', 'NNpsk0+psk0', 'XXfallback', 'XX+psk0', 'nn', 'constructor', 'NNpsk01']) {
      expect(code(() => parsePatternName(name)), name).toBe('E_INVALID_ARGUMENT');
    }
  });
});

describe('HandshakeState with two psks (NNpsk0+psk2) and a fresh random ephemeral', () => {
  it('completes and agrees on h and transport keys; a wrong second psk fails', () => {
    const psks = [randomBytes(32), randomBytes(32)];
    const run = (respPsks: Uint8Array[]) => {
      const init = HandshakeState.initialize({ pattern: 'NNpsk0+psk2', initiator: true, prologue: EMPTY, psks });
      const resp = HandshakeState.initialize({ pattern: 'NNpsk0+psk2', initiator: false, prologue: EMPTY, psks: respPsks });
      resp.readMessage(init.writeMessage(Uint8Array.of(1)).message);
      const w = resp.writeMessage(Uint8Array.of(2));
      const r = init.readMessage(w.message);
      return { init, resp, w, r };
    };
    const { init, resp, w, r } = run(psks);
    expect(init.handshakeHash).toEqual(resp.handshakeHash);
    expect(r.split![0].encryptWithAd(EMPTY, Uint8Array.of(3))).toEqual(w.split![0].encryptWithAd(EMPTY, Uint8Array.of(3)));
    expect(code(() => run([psks[0]!, randomBytes(32)]))).toBe('E_AUTH_FAILED');
  });

  it('accepts the explicit protocol name that matches the pattern', () => {
    const s = x25519KeyPair();
    const hs = HandshakeState.initialize({
      protocolName: 'Noise_XX_25519_ChaChaPoly_BLAKE2b',
      pattern: 'XX',
      initiator: true,
      prologue: EMPTY,
      s,
    });
    expect(hs.isMyTurn).toBe(true);
  });
});

describe('HandshakeState.copy (a trial read that may fail)', () => {
  it('a forged message fails on the copy; the original then reads the genuine one and both sides agree', () => {
    const i = x25519KeyPair();
    const r = x25519KeyPair();
    const psk = randomBytes(32);
    const prologue = randomBytes(16);
    const initiator = HandshakeState.initialize({ pattern: 'KKpsk0', initiator: true, prologue, s: i, rs: r.publicKey, psks: [psk] });
    const responder = HandshakeState.initialize({ pattern: 'KKpsk0', initiator: false, prologue, s: r, rs: i.publicKey, psks: [psk] });
    responder.readMessage(initiator.writeMessage(new Uint8Array(0)).message);
    const genuine = responder.writeMessage(new Uint8Array(3));
    const trial = initiator.copy();
    expect(() => trial.readMessage(randomBytes(genuine.message.length))).toThrow(SealsigError);
    const { split } = initiator.readMessage(genuine.message);
    const sealed = split![0].encryptWithAd(new Uint8Array(0), Uint8Array.of(7));
    expect(genuine.split![0].decryptWithAd(new Uint8Array(0), sealed)).toEqual(Uint8Array.of(7));
  });

  it('a copy is independent: reading on it leaves the original at its position', () => {
    const i = x25519KeyPair();
    const r = x25519KeyPair();
    const initiator = HandshakeState.initialize({ pattern: 'KK', initiator: true, prologue: new Uint8Array(0), s: i, rs: r.publicKey });
    const responder = HandshakeState.initialize({ pattern: 'KK', initiator: false, prologue: new Uint8Array(0), s: r, rs: i.publicKey });
    responder.readMessage(initiator.writeMessage(new Uint8Array(0)).message);
    const msg = responder.writeMessage(new Uint8Array(0)).message;
    const c = initiator.copy();
    c.readMessage(msg);
    expect(c.isComplete).toBe(true);
    expect(initiator.isComplete).toBe(false);
    initiator.readMessage(msg);
    expect(initiator.handshakeHash).toEqual(c.handshakeHash);
  });
});
