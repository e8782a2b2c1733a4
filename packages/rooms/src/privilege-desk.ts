/**
 * Both ends of privilege requests (docs/PROTOCOL.md §R8): as a requester, signed requests waiting for the
 * owner's answer; as an owner, checking each request (signature, freshness, new nonce) and asking the policy.
 * The Room feeds it messages from admitted members and sends what it returns.
 */
import { SealsigError, randomBytes, toHex } from '@sealsig/core';
import { decidePrivilege, signPrivilegeRequest, verifyPrivilegeRequest, type Privileges } from './privileges.js';
import { NONCE_BYTES, MAX_STREAM_ID_CHARS, Tag, type Message, type PrivilegeAction } from './wire.js';

/** The freshness bound on a request's timestamp: core's max age plus its future skew (core §8.1). */
const FRESH_MS = 150_000;
const MAX_SEEN_NONCES = 4_096;

export interface PrivilegeParty {
  id: string;
  key: Uint8Array;
  isModerator: boolean;
}

export interface PrivilegeDeskOptions<M extends PrivilegeParty> {
  /** The room's topic (the room session's route tag), bound into every signature. */
  roomTopic: string;
  /** This member's Ed25519 public key: requests to us must name it as the owner. */
  ownKey: Uint8Array;
  /** Signs with this member's Ed25519 secret key (which stays in the Room). */
  sign(input: Parameters<typeof signPrivilegeRequest>[1]): Uint8Array;
  privileges: Privileges;
  timeoutMs: number;
  send(to: M, m: Message): Promise<void>;
  /** Our policy granted a request for one of our streams. */
  granted(e: { action: PrivilegeAction; from: M; streamId: string }): void;
  /** An owner denied one of our requests. */
  denied(e: { action: PrivilegeAction; owner: M; streamId: string }): void;
  report(e: unknown): void;
}

interface Waiting<M> {
  owner: M;
  action: PrivilegeAction;
  streamId: string;
  resolve(v: 'granted' | 'denied'): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

export class PrivilegeDesk<M extends PrivilegeParty> {
  readonly #o: PrivilegeDeskOptions<M>;
  readonly #waiting = new Map<string, Waiting<M>>(); // by nonce (hex)
  readonly #seen = new Map<string, number>(); // nonces answered (hex) -> forget after

  constructor(options: PrivilegeDeskOptions<M>) {
    this.#o = options;
  }

  /** Asks `owner` to stop or mute one of its streams. Resolves 'granted' or 'denied'; E_TIMEOUT without an answer. */
  request(action: PrivilegeAction, owner: M, streamId: string): Promise<'granted' | 'denied'> {
    if (typeof streamId !== 'string' || streamId.length > MAX_STREAM_ID_CHARS) {
      return Promise.reject(new SealsigError('E_INVALID_ARGUMENT', `streamId must be a string of at most ${MAX_STREAM_ID_CHARS} characters`));
    }
    const nonce = randomBytes(NONCE_BYTES);
    const timestamp = Date.now();
    const signature = this.#o.sign({ roomTopic: this.#o.roomTopic, ownerKey: owner.key, action, streamId, nonce, timestamp });
    return new Promise((resolve, reject) => {
      const key = toHex(nonce);
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new SealsigError('E_TIMEOUT', `no answer from ${owner.id} to the ${action} request`));
      }, this.#o.timeoutMs);
      this.#waiting.set(key, { owner, action, streamId, resolve, reject, timer });
      this.#o.send(owner, { tag: Tag.privilegeRequest, nonce, action, streamId, timestamp, signature }).catch((e) => {
        clearTimeout(timer);
        this.#waiting.delete(key);
        reject(e);
      });
    });
  }

  /** Owner side: a request from an admitted member. */
  async onRequest(from: M, m: Extract<Message, { tag: typeof Tag.privilegeRequest }>): Promise<void> {
    const fields = { roomTopic: this.#o.roomTopic, ownerKey: this.#o.ownKey, action: m.action, streamId: m.streamId, nonce: m.nonce, timestamp: m.timestamp };
    if (!verifyPrivilegeRequest(from.key, fields, m.signature)) throw new SealsigError('E_AUTH_FAILED', 'privilege request signature does not verify');
    const now = Date.now();
    if (Math.abs(now - m.timestamp) > FRESH_MS) throw new SealsigError('E_STALE', 'privilege request outside the freshness bounds');
    for (const [k, until] of this.#seen) if (until <= now) this.#seen.delete(k);
    const key = toHex(m.nonce);
    if (this.#seen.has(key)) return; // replayed: already answered
    if (this.#seen.size >= MAX_SEEN_NONCES) throw new SealsigError('E_RATE_LIMITED', 'too many privilege requests');
    this.#seen.set(key, m.timestamp + 2 * FRESH_MS);
    const { privileges } = this.#o;
    const policy = m.action === 'stop' ? privileges.canStopRemoteStream : privileges.canMuteRemoteStream;
    let granted = false;
    try {
      granted = await decidePrivilege(policy, { action: m.action, streamId: m.streamId, from: from.id, fromModerator: from.isModerator });
    } catch (e) {
      this.#o.report(new SealsigError('E_INVALID_ARGUMENT', 'the privilege policy threw; the request is denied', { cause: e }));
    }
    if (granted) this.#o.granted({ action: m.action, from, streamId: m.streamId });
    await this.#o.send(from, { tag: Tag.privilegeResponse, nonce: m.nonce, granted });
  }

  /** Requester side: the owner's answer. Answers from anyone but the asked owner are ignored. */
  onResponse(from: M, m: Extract<Message, { tag: typeof Tag.privilegeResponse }>): void {
    const key = toHex(m.nonce);
    const w = this.#waiting.get(key);
    if (w === undefined || w.owner.id !== from.id) return;
    this.#waiting.delete(key);
    clearTimeout(w.timer);
    if (!m.granted) this.#o.denied({ action: w.action, owner: from, streamId: w.streamId });
    w.resolve(m.granted ? 'granted' : 'denied');
  }

  /** Rejects every waiting request with E_CLOSED. */
  close(): void {
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new SealsigError('E_CLOSED', 'room is closed'));
    }
    this.#waiting.clear();
  }
}
