/**
 * Where a signed broadcast's time goes (docs/BENCHMARKS.md, "Where the broadcast's time goes"): its stages
 * measured one by one, and two other Ed25519 implementations, as cases of bench/run.ts (same interleaved
 * rounds as `broadcast pipeline (signed)`, so the shares compare like with like).
 *
 * One op of each stage is that stage's share of one broadcast sealed, opened and verified:
 *   sign       Ed25519 sign (libsodium wasm) of what sealBroadcast signs: context || header || content
 *   verify     Ed25519 verify (libsodium wasm) of the same bytes
 *   aead       XChaCha20-Poly1305 seal + open of the padded content || signature, header as AD
 *   msgpack    encodeContent + decodeContent of [type, payload]
 * The rest (header encoding, padding, concatenations, frame encoding and decoding, the 24-byte nonce) is the
 * pipeline minus these four, computed by bench/tables.ts.
 *
 * Alternatives for the two signature stages (sign + verify together, same bytes):
 *   node:crypto  OpenSSL's Ed25519 through KeyObjects, synchronous (Node only)
 *   WebCrypto    crypto.subtle Ed25519, each call awaited (Node >= 20; Chrome 137, Firefox 129, Safari 17)
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { decodeContent, encodeContent } from '../packages/core/src/codec.js';
import {
  BroadcastType,
  FrameKind,
  PROTOCOL_VERSION,
  SUITE_V1,
  createSessionId,
  decodeFrame,
  deriveEpochKeys,
  deriveSession,
  encodeHeader,
  openBroadcast,
  pad,
  sealBroadcast,
} from '../packages/core/src/index.js';
import { ed25519KeyPair, ed25519Sign, ed25519Verify, randomBytes, xchachaOpen, xchachaSeal } from '../packages/core/src/sodium.js';
import type { Case } from './harness.js';
import { ED25519_NODE, ED25519_WEBCRYPTO, STAGE_AEAD, STAGE_MSGPACK, STAGE_SIGN, STAGE_VERIFY } from './row-names.js';

let sink = 0;

function fail(msg: string): never {
  throw new Error(`bench self-check failed: ${msg}`);
}

/** The real bytes of one broadcast of `bytes` payload bytes: what is signed, the signature, the AD, the padded plaintext. */
function sample(bytes: number) {
  const secrets = deriveSession(createSessionId());
  const key = deriveEpochKeys(0, secrets.roomKey0).broadcastKey;
  const signing = ed25519KeyPair();
  const payload = randomBytes(bytes);
  const header = {
    version: PROTOCOL_VERSION,
    suite: SUITE_V1,
    kind: FrameKind.broadcast,
    route: secrets.routeTag,
    sender: randomBytes(16),
    instance: randomBytes(8),
    recipient: null,
    epoch: 0,
    counter: 0,
    timestamp: 1_760_000_000_000,
  };
  const frame = sealBroadcast({ header, key, signingKey: signing.privateKey, type: BroadcastType.app, payload });
  const opened = openBroadcast(decodeFrame(frame), key);
  const ad = encodeHeader(header);
  const content = encodeContent(BroadcastType.app, payload).slice();
  const padded = pad(new Uint8Array([...content, ...opened.signature]));
  return { key, signing, payload, signed: opened.signed, signature: opened.signature, ad, padded };
}

function signCase(bytes: number): Case {
  const s = sample(bytes);
  if (!ed25519Verify(s.signing.publicKey, s.signed, ed25519Sign(s.signing.privateKey, s.signed))) fail('wasm sign');
  return {
    name: STAGE_SIGN,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += ed25519Sign(s.signing.privateKey, s.signed)[0]!;
    },
  };
}

function verifyCase(bytes: number): Case {
  const s = sample(bytes);
  if (!ed25519Verify(s.signing.publicKey, s.signed, s.signature)) fail('wasm verify');
  return {
    name: STAGE_VERIFY,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += ed25519Verify(s.signing.publicKey, s.signed, s.signature) ? 1 : 0;
    },
  };
}

function aeadCase(bytes: number): Case {
  const s = sample(bytes);
  const nonce = randomBytes(24);
  const once = () => xchachaOpen(s.key, nonce, xchachaSeal(s.key, nonce, s.padded, s.ad), s.ad);
  if (once().length !== s.padded.length) fail('XChaCha round trip');
  return {
    name: STAGE_AEAD,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += once().length;
    },
  };
}

function msgpackCase(bytes: number): Case {
  const s = sample(bytes);
  const once = () => decodeContent(encodeContent(BroadcastType.app, s.payload).slice());
  if ((once().payload as Uint8Array).length !== bytes) fail('msgpack round trip');
  return {
    name: STAGE_MSGPACK,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += (once().payload as Uint8Array).length;
    },
  };
}

/** The same 32-byte seed as a KeyObject pair (PKCS#8 / SPKI wrappers of RFC 8410). */
function nodeKeys(seed: Uint8Array, publicKey: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]);
  return {
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
  };
}

function nodeCase(bytes: number): Case {
  const s = sample(bytes);
  const keys = nodeKeys(s.signing.privateKey.subarray(0, 32), s.signing.publicKey);
  const once = () => nodeVerify(null, s.signed, keys.publicKey, nodeSign(null, s.signed, keys.privateKey));
  // libsodium's 64-byte secret key is seed || public key; Ed25519 is deterministic, so both sign alike.
  if (!once() || !Buffer.from(nodeSign(null, s.signed, keys.privateKey)).equals(s.signature)) fail('node:crypto Ed25519');
  return {
    name: ED25519_NODE,
    bytes,
    run(n) {
      for (let i = 0; i < n; i++) sink += once() ? 1 : 0;
    },
  };
}

async function webcryptoCase(bytes: number): Promise<Case> {
  const s = sample(bytes);
  const subtle = globalThis.crypto.subtle;
  const seed = s.signing.privateKey.subarray(0, 32);
  const pkcs8 = new Uint8Array([...Buffer.from('302e020100300506032b657004220420', 'hex'), ...seed]);
  const privateKey = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  const publicKey = await subtle.importKey('raw', new Uint8Array(s.signing.publicKey), { name: 'Ed25519' }, false, ['verify']);
  const signed = new Uint8Array(s.signed); // WebCrypto's typings want an ArrayBuffer-backed view
  const once = async () => subtle.verify({ name: 'Ed25519' }, publicKey, await subtle.sign({ name: 'Ed25519' }, privateKey, signed), signed);
  if (!(await once())) fail('WebCrypto Ed25519');
  return {
    name: ED25519_WEBCRYPTO,
    bytes,
    async run(n) {
      for (let i = 0; i < n; i++) sink += (await once()) ? 1 : 0;
    },
  };
}

/** Every case of the breakdown at one payload size. */
export async function broadcastProfileCases(bytes: number): Promise<Case[]> {
  return [signCase(bytes), verifyCase(bytes), aeadCase(bytes), msgpackCase(bytes), nodeCase(bytes), await webcryptoCase(bytes)];
}

export function broadcastProfileSink(): number {
  return sink;
}
