import { beforeAll, describe, expect, it } from 'vitest';
import {
  ed25519KeyPair,
  ed25519Sign,
  ed25519Verify,
  publicKeyOps,
  ready,
  resetPublicKeyOps,
  x25519,
  x25519KeyPair,
} from '../src/sodium.js';
import { newHandshake, readHandshakeFrame, writeHandshakeFrame, FrameKind, PROTOCOL_VERSION, SUITE_V1, decodeFrame, randomBytes, type Header } from '../src/index.js';

beforeAll(ready);

const zero = { ed25519Sign: 0, ed25519Verify: 0, ed25519KeyPair: 0, x25519: 0, x25519KeyPair: 0 };

function header(kind: Header['kind']): Header {
  return {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind,
    route: new Uint8Array(16),
    sender: new Uint8Array(16),
    instance: new Uint8Array(8),
    recipient: new Uint8Array(16),
    epoch: 0,
    counter: 0,
    timestamp: 1_760_000_000_000,
  };
}

describe('public-key operation counts', () => {
  it('counts each Ed25519 and X25519 call once, and resets', () => {
    resetPublicKeyOps();
    expect(publicKeyOps).toEqual(zero);
    const signing = ed25519KeyPair();
    const sig = ed25519Sign(signing.privateKey, new Uint8Array(3));
    expect(ed25519Verify(signing.publicKey, new Uint8Array(3), sig)).toBe(true);
    expect(ed25519Verify(signing.publicKey, new Uint8Array(4), sig)).toBe(false);
    expect(ed25519Verify(signing.publicKey, new Uint8Array(3), sig.subarray(1))).toBe(false); // refused before libsodium
    const a = x25519KeyPair();
    const b = x25519KeyPair();
    x25519(a.privateKey, b.publicKey);
    expect(publicKeyOps).toEqual({ ed25519Sign: 1, ed25519Verify: 2, ed25519KeyPair: 1, x25519: 1, x25519KeyPair: 2 });
    resetPublicKeyOps();
    expect(publicKeyOps).toEqual(zero);
  });

  it('counts the Noise layer: one KKpsk0 handshake is 8 X25519 operations and 2 ephemeral key pairs', () => {
    const [sA, sB] = [x25519KeyPair(), x25519KeyPair()];
    const prologue = randomBytes(8);
    const psk = randomBytes(32);
    resetPublicKeyOps();
    const a = newHandshake({ initiator: true, prologue, s: sA, rs: sB.publicKey, psk });
    const b = newHandshake({ initiator: false, prologue, s: sB, rs: sA.publicKey, psk });
    const tagKey = randomBytes(32); // the pair key (§7.2) is computed once per peer, outside the handshake
    readHandshakeFrame(b, decodeFrame(writeHandshakeFrame(a, header(FrameKind.handshakeInit), tagKey).frame), tagKey);
    readHandshakeFrame(a, decodeFrame(writeHandshakeFrame(b, header(FrameKind.handshakeResp), tagKey).frame), tagKey);
    expect(publicKeyOps).toEqual({ ...zero, x25519: 8, x25519KeyPair: 2 });
    a.destroy();
    b.destroy();
  });
});
