/**
 * What the descriptor-store tests share: two ids, writers (Ed25519 key pairs), write proofs, and the outcome
 * of a call as an error code. Call `await ready()` (from @sealsig/core) before using the writers.
 */
import { expect } from 'vitest';
import { ed25519KeyPair, fromBase64Url, isSealsigError, type KeyPair } from '@sealsig/core';
import { extendChain } from '../src/chain.js';
import { signWriteProof } from '../src/store/proof.js';
import type { ChainLink } from '../src/wire.js';

/** Canonical ids (16 bytes as base64url, the last character's low bits zero). */
export const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
export const ID2 = 'BBBBBBBBBBBBBBBBBBBBBA';

/** A writer from a fixed seed byte. */
export const writer = (n: number): KeyPair => ed25519KeyPair(new Uint8Array(32).fill(n));

/** The proof for putting `value` under `id` with `ttlMs`, signed by `w`. */
export function proof(w: KeyPair, id: string, value: Uint8Array, ttlMs: number, serial: number, chain: ChainLink[] = []): Uint8Array {
  return signWriteProof(w.privateKey, w.publicKey, fromBase64Url(id)!, serial, ttlMs, value, chain);
}

/** Put options for `value` under `id`, signed by `w`. */
export function signed(w: KeyPair, id: string, value: Uint8Array, ttlMs: number, serial: number, chain: ChainLink[] = []): { ttlMs: number; proof: Uint8Array } {
  return { ttlMs, proof: proof(w, id, value, ttlMs, serial, chain) };
}

/** The chain handing moderation of `id` from `from` to `to` (one link, at state version 2, epoch 1). */
export function handover(id: string, from: KeyPair, to: KeyPair, chain: ChainLink[] = [], version = chain.length + 2, epoch = 1): ChainLink[] {
  return extendChain(chain, fromBase64Url(id)!, from.privateKey, to.publicKey, version, epoch);
}

export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(isSealsigError(e), String(e)).toBe(true);
    return (e as { code: string }).code;
  }
}
