/**
 * Negative controls for the Noise layer: tampering, wrong psk / prologue / static key, truncation and
 * out-of-turn calls must all end in a typed SealsigError (E_AUTH_FAILED or E_HANDSHAKE), never an untyped
 * TypeError / RangeError and never a silently accepted message.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SealsigError } from '../src/errors.js';
import type { CipherState } from '../src/noise/cipher-state.js';
import { HandshakeState, type HandshakeOptions } from '../src/noise/handshake-state.js';
import { type KeyPair, randomBytes, ready, x25519KeyPair } from '../src/sodium.js';

beforeAll(async () => {
  await ready();
});

const EMPTY = new Uint8Array(0);

interface Keys {
  initS: KeyPair;
  respS: KeyPair;
  initE: KeyPair;
  respE: KeyPair;
  psk: Uint8Array;
  prologue: Uint8Array;
}

function newKeys(): Keys {
  return {
    initS: x25519KeyPair(),
    respS: x25519KeyPair(),
    initE: x25519KeyPair(),
    respE: x25519KeyPair(),
    psk: randomBytes(32),
    prologue: new TextEncoder().encode('sealsig noise negative test'),
  };
}

type Pattern = 'KKpsk0' | 'XXpsk3';

/** The options of both sides for a pattern; `tweak` changes the responder's (or initiator's) options. */
function options(pattern: Pattern, k: Keys, initiator: boolean): HandshakeOptions {
  const base = {
    pattern,
    initiator,
    prologue: k.prologue,
    s: initiator ? k.initS : k.respS,
    e: initiator ? k.initE : k.respE,
    psks: [k.psk],
  };
  if (pattern === 'KKpsk0') return { ...base, rs: initiator ? k.respS.publicKey : k.initS.publicKey };
  return base;
}

const HANDSHAKE_LENGTH: Record<Pattern, number> = { KKpsk0: 2, XXpsk3: 3 };

interface Run {
  init: HandshakeState;
  resp: HandshakeState;
  messages: Uint8Array[];
  initSend?: CipherState;
  initRecv?: CipherState;
  respSend?: CipherState;
  respRecv?: CipherState;
}

/** Runs messages 0..upTo-1 of the handshake honestly (all of it when upTo is omitted). */
function runHandshake(pattern: Pattern, k: Keys, upTo = HANDSHAKE_LENGTH[pattern], tweakResp?: Partial<HandshakeOptions>): Run {
  const init = HandshakeState.initialize(options(pattern, k, true));
  const resp = HandshakeState.initialize({ ...options(pattern, k, false), ...tweakResp });
  const run: Run = { init, resp, messages: [] };
  for (let i = 0; i < upTo; i++) {
    const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
    const w = writer.writeMessage(new TextEncoder().encode(`handshake payload ${i}`));
    run.messages.push(w.message);
    const r = reader.readMessage(w.message);
    if (w.split !== undefined && r.split !== undefined) {
      const [wc1, wc2] = w.split;
      const [rc1, rc2] = r.split;
      [run.initSend, run.initRecv] = i % 2 === 0 ? [wc1, wc2] : [rc1, rc2];
      [run.respRecv, run.respSend] = i % 2 === 0 ? [rc1, rc2] : [wc1, wc2];
    }
  }
  return run;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** Calls fn and returns the SealsigError it throws; fails the test for no error or an untyped one. */
function typedError(fn: () => unknown): SealsigError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SealsigError)) throw new Error(`expected a SealsigError, got ${String(e)}`, { cause: e });
    return e;
  }
  throw new Error('expected a SealsigError, but nothing was thrown');
}

describe.each(['KKpsk0', 'XXpsk3'] as const)('%s negative controls', (pattern) => {
  const n = HANDSHAKE_LENGTH[pattern];

  it('completes honestly, with equal handshake hashes and working transport', () => {
    const k = newKeys();
    const run = runHandshake(pattern, k);
    expect(run.init.isComplete && run.resp.isComplete).toBe(true);
    expect(run.init.handshakeHash).toEqual(run.resp.handshakeHash);
    expect(run.init.remoteStatic).toEqual(k.respS.publicKey);
    expect(run.resp.remoteStatic).toEqual(k.initS.publicKey);
    const c = run.initSend!.encryptWithAd(EMPTY, Uint8Array.of(1, 2, 3));
    expect(run.respRecv!.decryptWithAd(EMPTY, c)).toEqual(Uint8Array.of(1, 2, 3));
    const d = run.respSend!.encryptWithAd(EMPTY, Uint8Array.of(4));
    expect(run.initRecv!.decryptWithAd(EMPTY, d)).toEqual(Uint8Array.of(4));
  });

  it('rejects a single flipped bit anywhere in any handshake message with E_AUTH_FAILED', () => {
    const k = newKeys();
    const lengths = runHandshake(pattern, k).messages.map((m) => m.length);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: n - 1 }).chain((j) => fc.tuple(fc.constant(j), fc.nat({ max: lengths[j]! * 8 - 1 }))),
        ([j, bit]) => {
          // Same keys (ephemerals included), so messages 0..j-1 are the honest ones and message j has lengths[j].
          const run = runHandshake(pattern, k, j);
          const [writer, reader] = j % 2 === 0 ? [run.init, run.resp] : [run.resp, run.init];
          const { message } = writer.writeMessage(new TextEncoder().encode(`handshake payload ${j}`));
          expect(message.length).toBe(lengths[j]);
          const err = typedError(() => reader.readMessage(flipBit(message, bit)));
          expect(err.code).toBe('E_AUTH_FAILED');
          // The failed reader is dead: even the genuine message is refused now.
          expect(typedError(() => reader.readMessage(message)).code).toBe('E_HANDSHAKE');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects every single-bit flip of every handshake message (exhaustive)', () => {
    const k = newKeys();
    const honest = runHandshake(pattern, k).messages;
    for (let j = 0; j < n; j++) {
      for (let bit = 0; bit < honest[j]!.length * 8; bit++) {
        const run = runHandshake(pattern, k, j);
        const [writer, reader] = j % 2 === 0 ? [run.init, run.resp] : [run.resp, run.init];
        const { message } = writer.writeMessage(new TextEncoder().encode(`handshake payload ${j}`));
        expect(message).toEqual(honest[j]);
        expect(typedError(() => reader.readMessage(flipBit(message, bit))).code).toBe('E_AUTH_FAILED');
      }
    }
  });

  it('rejects a flipped bit in a transport message with E_AUTH_FAILED, without consuming the nonce', () => {
    const k = newKeys();
    const run = runHandshake(pattern, k);
    const plaintext = new TextEncoder().encode('transport payload');
    fc.assert(
      fc.property(fc.nat({ max: (plaintext.length + 16) * 8 - 1 }), fc.boolean(), (bit, fromInitiator) => {
        const [send, recv] = fromInitiator ? [run.initSend!, run.respRecv!] : [run.respSend!, run.initRecv!];
        const c = send.encryptWithAd(EMPTY, plaintext);
        const before = recv.nonce;
        expect(typedError(() => recv.decryptWithAd(EMPTY, flipBit(c, bit))).code).toBe('E_AUTH_FAILED');
        expect(recv.nonce).toBe(before);
        expect(recv.decryptWithAd(EMPTY, c)).toEqual(plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it('gives only typed errors for truncated handshake messages (E_HANDSHAKE or E_AUTH_FAILED)', () => {
    const k = newKeys();
    const lengths = runHandshake(pattern, k).messages.map((m) => m.length);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: n - 1 }).chain((j) => fc.tuple(fc.constant(j), fc.nat({ max: lengths[j]! - 1 }))),
        ([j, len]) => {
          const run = runHandshake(pattern, k, j);
          const [writer, reader] = j % 2 === 0 ? [run.init, run.resp] : [run.resp, run.init];
          const { message } = writer.writeMessage(new TextEncoder().encode(`handshake payload ${j}`));
          const err = typedError(() => reader.readMessage(message.subarray(0, len)));
          expect(['E_HANDSHAKE', 'E_AUTH_FAILED']).toContain(err.code);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('says E_HANDSHAKE for a message cut inside a key or the tag', () => {
    const k = newKeys();
    const first = runHandshake(pattern, k).messages[0]!;
    for (const len of [0, 1, 31, 32 + 15]) {
      const resp = HandshakeState.initialize(options(pattern, k, false));
      expect(typedError(() => resp.readMessage(first.subarray(0, len))).code).toBe('E_HANDSHAKE');
    }
  });

  it('gives only typed errors for arbitrary bytes as any handshake message', () => {
    const k = newKeys();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: n - 1 }), fc.uint8Array({ maxLength: 300 }), (j, garbage) => {
        const run = runHandshake(pattern, k, j);
        const reader = j % 2 === 0 ? run.resp : run.init;
        const err = typedError(() => reader.readMessage(garbage));
        expect(['E_HANDSHAKE', 'E_AUTH_FAILED']).toContain(err.code);
      }),
      { numRuns: 200 },
    );
  });

  it('fails with E_AUTH_FAILED under a wrong psk', () => {
    const k = newKeys();
    const err = typedError(() => runHandshake(pattern, k, n, { psks: [randomBytes(32)] }));
    expect(err.code).toBe('E_AUTH_FAILED');
  });

  it('fails with E_AUTH_FAILED under a wrong prologue', () => {
    const k = newKeys();
    const err = typedError(() => runHandshake(pattern, k, n, { prologue: new TextEncoder().encode('another prologue') }));
    expect(err.code).toBe('E_AUTH_FAILED');
  });

  it('refuses writeMessage and readMessage out of turn with E_HANDSHAKE, and the handshake still completes', () => {
    const k = newKeys();
    const init = HandshakeState.initialize(options(pattern, k, true));
    const resp = HandshakeState.initialize(options(pattern, k, false));
    expect(typedError(() => resp.writeMessage(EMPTY)).code).toBe('E_HANDSHAKE');
    expect(typedError(() => init.readMessage(new Uint8Array(200))).code).toBe('E_HANDSHAKE');
    const m0 = init.writeMessage(EMPTY).message;
    expect(typedError(() => init.writeMessage(EMPTY)).code).toBe('E_HANDSHAKE');
    resp.readMessage(m0);
    expect(typedError(() => resp.readMessage(m0)).code).toBe('E_HANDSHAKE');
    let writer = resp;
    let reader = init;
    for (let i = 1; i < n; i++) {
      reader.readMessage(writer.writeMessage(EMPTY).message);
      [writer, reader] = [reader, writer];
    }
    expect(init.isComplete && resp.isComplete).toBe(true);
    expect(typedError(() => init.writeMessage(EMPTY)).code).toBe('E_HANDSHAKE');
    expect(typedError(() => resp.readMessage(m0)).code).toBe('E_HANDSHAKE');
  });

  it('wipes its secrets on destroy() and then refuses every call with E_CLOSED', () => {
    const k = newKeys();
    const init = HandshakeState.initialize(options(pattern, k, true));
    init.destroy();
    expect(typedError(() => init.writeMessage(EMPTY)).code).toBe('E_CLOSED');
    // The caller's keys are copies: destroy() leaves them alone.
    expect(k.initS.privateKey.some((b) => b !== 0)).toBe(true);
    expect(k.psk.some((b) => b !== 0)).toBe(true);
  });
});

describe('wrong remote static key', () => {
  it('KKpsk0: an initiator holding the wrong rs makes the responder fail with E_AUTH_FAILED', () => {
    const k = newKeys();
    const init = HandshakeState.initialize({ ...options('KKpsk0', k, true), rs: x25519KeyPair().publicKey });
    const resp = HandshakeState.initialize(options('KKpsk0', k, false));
    expect(typedError(() => resp.readMessage(init.writeMessage(EMPTY).message)).code).toBe('E_AUTH_FAILED');
  });

  it('KKpsk0: a responder expecting another initiator fails with E_AUTH_FAILED', () => {
    const k = newKeys();
    const init = HandshakeState.initialize(options('KKpsk0', k, true));
    const resp = HandshakeState.initialize({ ...options('KKpsk0', k, false), rs: x25519KeyPair().publicKey });
    expect(typedError(() => resp.readMessage(init.writeMessage(EMPTY).message)).code).toBe('E_AUTH_FAILED');
  });

  it('KKpsk0: the responder holding a static key other than the one the initiator expects fails', () => {
    const k = newKeys();
    const init = HandshakeState.initialize(options('KKpsk0', k, true));
    const resp = HandshakeState.initialize({ ...options('KKpsk0', k, false), s: x25519KeyPair() });
    expect(typedError(() => resp.readMessage(init.writeMessage(EMPTY).message)).code).toBe('E_AUTH_FAILED');
  });

  it('XXpsk3: claiming a static public key without its private key fails with E_AUTH_FAILED', () => {
    const k = newKeys();
    const victim = x25519KeyPair();
    const forged = { publicKey: victim.publicKey, privateKey: k.initS.privateKey };
    const init = HandshakeState.initialize({ ...options('XXpsk3', k, true), s: forged });
    const resp = HandshakeState.initialize(options('XXpsk3', k, false));
    resp.readMessage(init.writeMessage(EMPTY).message);
    init.readMessage(resp.writeMessage(EMPTY).message);
    expect(typedError(() => resp.readMessage(init.writeMessage(EMPTY).message)).code).toBe('E_AUTH_FAILED');
  });

  it('XXpsk3: a responder claiming another static key fails on the initiator side with E_AUTH_FAILED', () => {
    const k = newKeys();
    const forged = { publicKey: x25519KeyPair().publicKey, privateKey: k.respS.privateKey };
    const init = HandshakeState.initialize(options('XXpsk3', k, true));
    const resp = HandshakeState.initialize({ ...options('XXpsk3', k, false), s: forged });
    resp.readMessage(init.writeMessage(EMPTY).message);
    expect(typedError(() => init.readMessage(resp.writeMessage(EMPTY).message)).code).toBe('E_AUTH_FAILED');
  });

  it('XXpsk3: rs is transmitted, so passing one is refused (E_INVALID_ARGUMENT); the app checks remoteStatic', () => {
    const k = newKeys();
    expect(
      typedError(() => HandshakeState.initialize({ ...options('XXpsk3', k, true), rs: k.respS.publicKey })).code,
    ).toBe('E_INVALID_ARGUMENT');
  });

  it('a low-order remote static key is refused with E_AUTH_FAILED (X25519 all-zero output)', () => {
    const k = newKeys();
    const init = HandshakeState.initialize({ ...options('KKpsk0', k, true), rs: new Uint8Array(32) });
    expect(typedError(() => init.writeMessage(EMPTY)).code).toBe('E_AUTH_FAILED');
  });
});

describe('initialize argument checks', () => {
  it('refuses missing or malformed keys and psks with E_INVALID_ARGUMENT', () => {
    const k = newKeys();
    const kk = options('KKpsk0', k, true);
    const cases: HandshakeOptions[] = [
      { ...kk, s: undefined },
      { ...kk, rs: undefined },
      { ...kk, rs: new Uint8Array(31) },
      { ...kk, psks: [] },
      { ...kk, psks: [new Uint8Array(16)] },
      { ...kk, psks: [k.psk, k.psk] },
      { ...kk, pattern: 'KKpsk9' },
      { ...kk, pattern: 'QQ' },
      { ...kk, protocolName: 'Noise_KKpsk0_25519_AESGCM_SHA256' },
    ];
    cases.forEach((bad, i) => {
      expect(typedError(() => HandshakeState.initialize(bad)).code, `case ${i}`).toBe('E_INVALID_ARGUMENT');
    });
  });
});
