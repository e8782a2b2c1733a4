/**
 * Write proofs for the descriptor tests (descriptors.test.ts, redis-descriptors.test.ts), made here with
 * libsodium and a few lines of canonical msgpack (no @sealsig/rooms: the relay must not depend on it).
 */
import sodium from 'libsodium-wrappers';
import { putInput, type ChainLink } from '../src/descriptor-proof.js';

/** Descriptor id bytes from its base64url form. */
export const idBytes = (id: string): Uint8Array => new Uint8Array(Buffer.from(id, 'base64url'));

export type Writer = { publicKey: Uint8Array; privateKey: Uint8Array };
const writers: Writer[] = [];
/** Writer n (0, 1, 2, ...) from a fixed seed. */
export const writer = (n: number): Writer => (writers[n] ??= sodium.crypto_sign_seed_keypair(new Uint8Array(32).fill(n + 1)));

function mpUint(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0xcc, n];
  if (n < 0x10000) return [0xcd, n >> 8, n & 0xff];
  if (n < 0x100000000) return [0xce, ...Buffer.from(new Uint32Array([n]).buffer).reverse()];
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return [0xcf, ...b];
}
const mpBin = (b: Uint8Array): number[] => [0xc4, b.length, ...b];
const mpArray = (n: number): number[] => (n < 16 ? [0x90 | n] : [0xdc, n >> 8, n & 0xff]);

export function encodeProof(key: Uint8Array, serial: number, signature: Uint8Array, chain: ChainLink[]): Uint8Array {
  const out = [...mpArray(4), ...mpBin(key), ...mpUint(serial), ...mpBin(signature), ...mpArray(chain.length)];
  for (const l of chain) out.push(...mpArray(4), ...mpBin(l.key), ...mpUint(l.version), ...mpUint(l.epoch), ...mpBin(l.signature));
  return new Uint8Array(out);
}

export function proof(w: Writer, id: string, value: Uint8Array, ttl: number, serial: number, chain: ChainLink[] = []): Uint8Array {
  return encodeProof(w.publicKey, serial, sodium.crypto_sign_detached(putInput(idBytes(id), serial, ttl, value), w.privateKey), chain);
}

/** The link handing `id` from `from` to `to`, appended to `chain`. */
export function handover(id: string, from: Writer, to: Writer, chain: ChainLink[] = [], version = chain.length + 2, epoch = 1): ChainLink[] {
  const index = chain.length + 1;
  const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const u64 = Buffer.alloc(8);
  u64.writeBigUInt64BE(BigInt(version));
  const input = Buffer.concat([Buffer.from('sealsig/v2/rooms/moderator-transfer'), Buffer.alloc(1), idBytes(id), u32(index), u64, u32(epoch), to.publicKey]);
  return [...chain, { key: to.publicKey, version, epoch, signature: sodium.crypto_sign_detached(input, from.privateKey) }];
}

