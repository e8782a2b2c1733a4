/**
 * Noise rev. 34 against the cacophony test vectors (public domain), filtered to the 59
 * Noise_*_25519_ChaChaPoly_BLAKE2b protocols: every handshake message, every transport message and the
 * handshake hash must match byte for byte, and each reader must recover each payload.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes.js';
import type { CipherState } from '../src/noise/cipher-state.js';
import { HandshakeState } from '../src/noise/handshake-state.js';
import { parsePatternName } from '../src/noise/patterns.js';
import { ready, x25519KeyPair } from '../src/sodium.js';

interface CacophonyVector {
  protocol_name: string;
  init_prologue: string;
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  init_psks?: string[];
  resp_prologue: string;
  resp_static?: string;
  resp_ephemeral?: string;
  resp_remote_static?: string;
  resp_psks?: string[];
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const { vectors } = JSON.parse(
  readFileSync(new URL('./fixtures/cacophony-25519-ChaChaPoly-BLAKE2b.json', import.meta.url), 'utf8'),
) as { vectors: CacophonyVector[] };

const SUFFIX = '_25519_ChaChaPoly_BLAKE2b';

function patternOf(protocolName: string): string {
  expect(protocolName.startsWith('Noise_') && protocolName.endsWith(SUFFIX)).toBe(true);
  return protocolName.slice('Noise_'.length, -SUFFIX.length);
}

function side(v: CacophonyVector, initiator: boolean): HandshakeState {
  const pick = (i: string | undefined, r: string | undefined) => {
    const hex = initiator ? i : r;
    return hex === undefined ? undefined : fromHex(hex);
  };
  const sPriv = pick(v.init_static, v.resp_static);
  const ePriv = pick(v.init_ephemeral, v.resp_ephemeral);
  const psks = initiator ? v.init_psks : v.resp_psks;
  return HandshakeState.initialize({
    protocolName: v.protocol_name,
    pattern: patternOf(v.protocol_name),
    initiator,
    prologue: fromHex(initiator ? v.init_prologue : v.resp_prologue),
    s: sPriv === undefined ? undefined : x25519KeyPair(sPriv),
    e: ePriv === undefined ? undefined : x25519KeyPair(ePriv),
    rs: pick(v.init_remote_static, v.resp_remote_static),
    psks: psks?.map(fromHex),
  });
}

beforeAll(async () => {
  await ready();
});

describe('cacophony vectors (Noise_*_25519_ChaChaPoly_BLAKE2b)', () => {
  it('has the 59 expected vectors', () => {
    expect(vectors).toHaveLength(59);
  });

  it.each(vectors.map((v) => [v.protocol_name, v] as const))('%s', (_name, v) => {
    const pattern = parsePatternName(patternOf(v.protocol_name));
    const initiator = side(v, true);
    const responder = side(v, false);
    const handshakeLength = pattern.messages.length;
    let initSend: CipherState | undefined;
    let respSend: CipherState | undefined;
    let initRecv: CipherState | undefined;
    let respRecv: CipherState | undefined;

    v.messages.forEach((m, i) => {
      // Interactive: the initiator writes the even messages; one-way: the initiator writes every message.
      const initiatorWrites = pattern.oneWay || i % 2 === 0;
      const payload = fromHex(m.payload);
      let ciphertext: Uint8Array;
      let received: Uint8Array;
      if (i < handshakeLength) {
        const [writer, reader] = initiatorWrites ? [initiator, responder] : [responder, initiator];
        const w = writer.writeMessage(payload);
        ciphertext = w.message;
        expect(toHex(ciphertext), `handshake message ${i}`).toBe(m.ciphertext);
        const r = reader.readMessage(ciphertext);
        received = r.payload;
        if (i === handshakeLength - 1) {
          expect(w.split).toBeDefined();
          expect(r.split).toBeDefined();
          const [wc1, wc2] = w.split!;
          const [rc1, rc2] = r.split!;
          // §5.3: the initiator sends with c1 and receives with c2; the responder the other way round.
          [initSend, initRecv] = initiatorWrites ? [wc1, wc2] : [rc1, rc2];
          [respRecv, respSend] = initiatorWrites ? [rc1, rc2] : [wc1, wc2];
        } else {
          expect(w.split).toBeUndefined();
          expect(r.split).toBeUndefined();
        }
      } else {
        const [send, recv] = initiatorWrites ? [initSend!, respRecv!] : [respSend!, initRecv!];
        ciphertext = send.encryptWithAd(new Uint8Array(0), payload);
        expect(toHex(ciphertext), `transport message ${i}`).toBe(m.ciphertext);
        received = recv.decryptWithAd(new Uint8Array(0), ciphertext);
      }
      expect(toHex(received), `payload ${i}`).toBe(m.payload);
    });

    expect(initiator.isComplete && responder.isComplete).toBe(true);
    expect(toHex(initiator.handshakeHash)).toBe(v.handshake_hash);
    expect(toHex(responder.handshakeHash)).toBe(v.handshake_hash);
    // Each side learned (or was given) the other's static key, when the pattern has one.
    if (v.resp_static !== undefined) {
      expect(toHex(initiator.remoteStatic!)).toBe(toHex(x25519KeyPair(fromHex(v.resp_static)).publicKey));
    }
    if (v.init_static !== undefined) {
      expect(toHex(responder.remoteStatic!)).toBe(toHex(x25519KeyPair(fromHex(v.init_static)).publicKey));
    }
    initiator.destroy();
    responder.destroy();
  });
});
