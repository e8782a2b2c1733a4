/**
 * Write proofs for room descriptors (docs/PROTOCOL.md §R7), checked by the relay without @sealsig/rooms (the
 * relay depends on nothing of sealsig's; @sealsig/rooms has the same check in src/store/proof.ts, and both
 * are run against the same vectors, test/fixtures/descriptor-put.json in each package).
 *
 *   proof     = msgpack([write_key (bin 32), serial (uint), signature (bin 64), chain])
 *   chain     = [[key (bin 32), version (uint), epoch (uint32), link_signature (bin 64)], ...]   (at most 16)
 *   signature = Ed25519-Sign(write_key, "sealsig/v2/rooms/descriptor-put" || 0x00 || descriptor_id
 *                            || u64be(serial) || u64be(ttl_ms) || value)
 *   link_signature_i = Ed25519-Sign(key_{i-1}, "sealsig/v2/rooms/moderator-transfer" || 0x00 || descriptor_id
 *                                   || u32be(i) || u64be(version_i) || u32be(epoch_i) || key_i)
 *
 * msgpack is the canonical encoding (core §5.1: shortest heads, nothing after the value). The reader below
 * accepts exactly that layout: it checks each head and length against the bytes left before it reads, and
 * takes byte strings as views (nothing is allocated for a proof it refuses).
 *
 * The rule (authorizePut): the first put binds the id to write_key; later puts need a signature that
 * verifies under write_key, a serial above the stored one, and write_key equal to the bound key or certified
 * from it by the chain (the walk starts after the last link whose key is the bound key, else at link 1 with
 * the bound key as key_0; every link must verify and versions increase; the end must be write_key).
 */
import { ed25519Verify } from './sodium.js';

export const MAX_PROOF_BYTES = 2048;
export const MAX_CHAIN = 16;

const PUT_LABEL = new TextEncoder().encode('sealsig/v2/rooms/descriptor-put');
const TRANSFER_LABEL = new TextEncoder().encode('sealsig/v2/rooms/moderator-transfer');

export interface ChainLink {
  key: Uint8Array;
  version: number;
  epoch: number;
  signature: Uint8Array;
}

export interface WriteProof {
  writeKey: Uint8Array;
  serial: number;
  signature: Uint8Array;
  chain: ChainLink[];
}

export interface WriteBinding {
  key: Uint8Array;
  serial: number;
}

class Malformed extends Error {}

/** A cursor over canonical msgpack, for the few types a proof has. */
class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.pos === this.b.length;
  }

  private take(n: number): Uint8Array {
    if (this.b.length - this.pos < n) throw new Malformed();
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private byte(): number {
    return this.take(1)[0]!;
  }

  private be(n: number): number {
    let v = 0;
    for (const x of this.take(n)) v = v * 256 + x;
    return v;
  }

  /** An array head with between min and max elements (fixarray, or array 16 for 16 and more). */
  array(min: number, max: number): number {
    const h = this.byte();
    let n: number;
    if (h >= 0x90 && h <= 0x9f) n = h & 0x0f;
    else if (h === 0xdc) {
      n = this.be(2);
      if (n < 16) throw new Malformed();
    } else throw new Malformed();
    if (n < min || n > max) throw new Malformed();
    return n;
  }

  /** A bin 8 of exactly `length` bytes (length < 256), as a view. */
  bin(length: number): Uint8Array {
    if (this.byte() !== 0xc4 || this.byte() !== length) throw new Malformed();
    return this.take(length);
  }

  /** An unsigned integer in its shortest form, at most `max` (a safe integer). */
  uint(max = Number.MAX_SAFE_INTEGER): number {
    const h = this.byte();
    let v: number;
    if (h <= 0x7f) v = h;
    else if (h === 0xcc) v = this.shortest(this.be(1), 0x80);
    else if (h === 0xcd) v = this.shortest(this.be(2), 0x100);
    else if (h === 0xce) v = this.shortest(this.be(4), 0x10000);
    else if (h === 0xcf) {
      const hi = this.be(4);
      const lo = this.be(4);
      if (hi >= 0x200000) throw new Malformed(); // above 2^53 - 1
      v = this.shortest(hi * 0x100000000 + lo, 0x100000000);
    } else throw new Malformed();
    if (v > max) throw new Malformed();
    return v;
  }

  private shortest(v: number, min: number): number {
    if (v < min) throw new Malformed();
    return v;
  }
}

/** The proof's fields, or undefined unless `bytes` is exactly the canonical layout above. */
export function parseWriteProof(bytes: Uint8Array): WriteProof | undefined {
  if (bytes.length > MAX_PROOF_BYTES) return undefined;
  try {
    const r = new Reader(bytes);
    r.array(4, 4);
    const writeKey = r.bin(32);
    const serial = r.uint();
    const signature = r.bin(64);
    const n = r.array(0, MAX_CHAIN);
    const chain: ChainLink[] = [];
    for (let i = 0; i < n; i++) {
      r.array(4, 4);
      chain.push({ key: r.bin(32), version: r.uint(), epoch: r.uint(0xffffffff), signature: r.bin(64) });
    }
    return r.done ? { writeKey, serial, signature, chain } : undefined;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

function u64be(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ZERO = new Uint8Array(1);

export function putInput(descriptorId: Uint8Array, serial: number, ttlMs: number, value: Uint8Array): Uint8Array {
  return concat(PUT_LABEL, ZERO, descriptorId, u64be(serial), u64be(ttlMs), value);
}

function linkInput(descriptorId: Uint8Array, index: number, link: ChainLink): Uint8Array {
  return concat(TRANSFER_LABEL, ZERO, descriptorId, u32be(index), u64be(link.version), u32be(link.epoch), link.key);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `chain` carries verified links from `from` to `to` (see the module comment). */
export function handsOver(chain: ChainLink[], descriptorId: Uint8Array, from: Uint8Array, to: Uint8Array): boolean {
  let start = 0;
  for (let i = chain.length; i > 0; i--) {
    if (equal(chain[i - 1]!.key, from)) {
      start = i;
      break;
    }
  }
  let current = from;
  let version = start > 0 ? chain[start - 1]!.version : -1;
  for (let i = start; i < chain.length; i++) {
    const link = chain[i]!;
    if (link.version <= version || !ed25519Verify(current, linkInput(descriptorId, i + 1, link), link.signature)) return false;
    current = link.key;
    version = link.version;
  }
  return equal(current, to);
}

/** The binding after the put if it is allowed, else undefined ('forbidden'). `held` is the id's live binding. */
export function authorizePut(held: WriteBinding | undefined, descriptorId: Uint8Array, ttlMs: number, value: Uint8Array, p: WriteProof): WriteBinding | undefined {
  if (held !== undefined) {
    if (p.serial <= held.serial) return undefined;
    if (!equal(p.writeKey, held.key) && !handsOver(p.chain, descriptorId, held.key, p.writeKey)) return undefined;
  }
  if (!ed25519Verify(p.writeKey, putInput(descriptorId, p.serial, ttlMs, value), p.signature)) return undefined;
  return { key: p.writeKey.slice(), serial: p.serial };
}
