/**
 * The epochs a member holds keys for (docs/PROTOCOL.md §9): the current one, used for sending, and up to 8
 * superseded ones, each accepted for receiving during its grace period, then erased.
 */
import { fail } from './errors.js';
import { deriveEpochKeys, type EpochKeys } from './kdf.js';
import { memzero } from './sodium.js';

/** Superseded epochs kept within their grace period: quick successive rotations do not cut off a lagging member. */
const MAX_PREVIOUS_EPOCHS = 8;

export class EpochRing {
  #current: EpochKeys;
  /** Superseded epochs, oldest first, each until `expires`. */
  #previous: { keys: EpochKeys; expires: number }[] = [];
  readonly #graceMs: number;

  constructor(start: EpochKeys, graceMs: number) {
    this.#current = start;
    this.#graceMs = graceMs;
  }

  get current(): EpochKeys {
    return this.#current;
  }

  /** The keys of `epoch`, current or superseded less than its grace ago (at `now`); E_EPOCH otherwise. */
  keys(epoch: number, now: number): EpochKeys {
    if (epoch === this.#current.epoch) return this.#current;
    for (const p of this.#previous) if (p.keys.epoch === epoch && p.expires > now) return p.keys;
    throw fail('E_EPOCH', `no key for epoch ${epoch} (current ${this.#current.epoch})`);
  }

  /** §9 Makes a later epoch current; the one it replaces is kept for receiving for the grace period. */
  install(epoch: number, roomKey: Uint8Array, now: number): void {
    checkEpoch(epoch, roomKey, this.#current.epoch);
    this.#previous.push({ keys: this.#current, expires: now + this.#graceMs });
    while (this.#previous.length > MAX_PREVIOUS_EPOCHS) eraseEpoch(this.#previous.shift()!.keys);
    this.#current = deriveEpochKeys(epoch, roomKey);
  }

  /** Erases the superseded epochs whose grace period is over. */
  expire(now: number): void {
    while (this.#previous.length > 0 && this.#previous[0]!.expires <= now) eraseEpoch(this.#previous.shift()!.keys);
  }

  erase(): void {
    eraseEpoch(this.#current);
    for (const p of this.#previous.splice(0)) eraseEpoch(p.keys);
  }
}

/** An epoch number above `above` and below 2^32, with a 32-byte room key; E_INVALID_ARGUMENT otherwise. */
export function checkEpoch(epoch: number, roomKey: Uint8Array, above: number): void {
  if (!Number.isSafeInteger(epoch) || epoch <= above || epoch > 0xffffffff) {
    throw fail('E_INVALID_ARGUMENT', `epoch must be an integer above ${above} and below 2^32`);
  }
  if (!(roomKey instanceof Uint8Array) || roomKey.length !== 32) throw fail('E_INVALID_ARGUMENT', 'room key must be 32 bytes');
}

function eraseEpoch(keys: EpochKeys): void {
  memzero(keys.broadcastKey, keys.psk);
}
