/**
 * What crosses the wire between the Redis engine and Redis (PROTOCOL-RELAY.md §6): stream ids, the scripts'
 * replies (redis-scripts.ts) and the notification format. Every parser validates before it allocates and
 * turns anything unexpected into EngineUnavailable (never a crash).
 *
 * Notification (one per APPEND call, on the topic's channel): `[epoch 8]` then, per frame in stream order,
 * `[id length 1][id][tag length 1][tag][frame length u32be][frame]`.
 */
import { EPOCH_BYTES, EngineUnavailable, type Offset } from './engine.js';

/** Ids `<ms>-<seq>` to Offset (undefined unless both parts are safe integers). */
export function parseStreamId(id: string): Offset | undefined {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (m === null) return undefined;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined;
}

export function formatStreamId(offset: Offset): string {
  return `${offset.ms}-${offset.seq}`;
}

/** parseStreamId over bytes [start, end) of `b`, without a string or a regex (the append and notification hot path). */
export function parseStreamIdBytes(b: Uint8Array, start: number, end: number): Offset | undefined {
  let ms = 0;
  let i = start;
  for (; i < end && b[i] !== 0x2d; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    ms = ms * 10 + d;
  }
  if (i === start || i >= end - 1) return undefined; // no ms digits, or no '-' followed by a digit
  let seq = 0;
  for (i++; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    seq = seq * 10 + d;
  }
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? { ms, seq } : undefined;
}

function bad(what: string): EngineUnavailable {
  return new EngineUnavailable(`redis: unexpected reply (${what})`);
}

function asBuffer(v: unknown, what: string): Buffer {
  if (!Buffer.isBuffer(v)) throw bad(what);
  return v;
}

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw bad(what);
  return v;
}

function asOffset(v: unknown, what: string): Offset {
  const b = asBuffer(v, what);
  const offset = parseStreamIdBytes(b, 0, b.length);
  if (offset === undefined) throw bad(what);
  return offset;
}

function asEpoch(v: unknown): Buffer {
  const epoch = asBuffer(v, 'epoch');
  if (epoch.length !== EPOCH_BYTES) throw bad('epoch');
  return epoch;
}

/** APPEND's reply for a batch of `count` frames: the epoch, and each frame's offset (in order). */
export function parseAppend(reply: unknown, count: number): { epoch: Uint8Array; offsets: Offset[] } {
  const r = asArray(reply, 'append');
  if (r.length !== count + 1) throw bad('append');
  const offsets = new Array<Offset>(count);
  for (let i = 0; i < count; i++) offsets[i] = asOffset(r[i + 1], 'id');
  return { epoch: new Uint8Array(asEpoch(r[0])), offsets };
}

/** A stream entry as READ returns it. */
export interface Entry {
  offset: Offset;
  frame: Buffer;
  /** The publisher tag (publisherTag()). */
  tag: Buffer;
}

/** The parsed reply of READ. */
export interface ReadReply {
  epoch: Buffer | undefined;
  recovered: boolean;
  last: Offset;
  entries: Entry[];
}

const NO_TAG: Buffer = Buffer.alloc(0);

export function parseRead(reply: unknown): ReadReply {
  const [epoch, recovered, last, entries, reversed] = asArray(reply, 'read');
  const list = asArray(entries, 'entries').map((entry) => {
    const [id, fields] = asArray(entry, 'entry');
    const f = asArray(fields, 'fields');
    let frame: Buffer | undefined;
    let tag: Buffer = NO_TAG;
    for (let i = 0; i + 1 < f.length; i += 2) {
      const name = asBuffer(f[i], 'field').toString('latin1');
      if (name === 'f') frame = asBuffer(f[i + 1], 'frame');
      else if (name === 't') tag = asBuffer(f[i + 1], 'tag');
    }
    if (frame === undefined) throw bad('frame');
    return { offset: asOffset(id, 'id'), frame, tag };
  });
  if (reversed === 1) list.reverse();
  return {
    epoch: epoch === null ? undefined : asEpoch(epoch),
    recovered: recovered === 1,
    last: asOffset(last, 'last-generated-id'),
    entries: list,
  };
}

/**
 * Calls `each` for every record of a notification, in order, with the frame as a view of `m` (no copy), once
 * the whole message is found well formed; returns its epoch, or undefined (and calls nothing) when it is not.
 */
export function parseNotification(m: Buffer, each: (offset: Offset, tag: Buffer, frame: Buffer) => void): Buffer | undefined {
  if (m.length < EPOCH_BYTES || !walk(m, undefined)) return undefined;
  walk(m, each);
  return m.subarray(0, EPOCH_BYTES);
}

function walk(m: Buffer, each: ((offset: Offset, tag: Buffer, frame: Buffer) => void) | undefined): boolean {
  let at = EPOCH_BYTES;
  while (at < m.length) {
    const idEnd = at + 1 + m[at]!;
    if (idEnd + 1 > m.length) return false;
    const tagEnd = idEnd + 1 + m[idEnd]!;
    if (tagEnd + 4 > m.length) return false;
    const frameEnd = tagEnd + 4 + m.readUInt32BE(tagEnd);
    if (frameEnd > m.length) return false;
    const offset = parseStreamIdBytes(m, at + 1, idEnd);
    if (offset === undefined) return false;
    each?.(offset, m.subarray(idEnd + 1, tagEnd), m.subarray(tagEnd + 4, frameEnd));
    at = frameEnd;
  }
  return true;
}

/** The publisher tag of this node's connection `from`: `<node id>:<from>`. */
export function publisherTag(nodeId: string, from: number): string {
  return `${nodeId}:${from}`;
}

/** The connection id in a publisher tag when `nodeId` (ASCII) published it, 0 for any other node. */
export function tagConnection(tag: Uint8Array, nodeId: Buffer): number {
  const n = nodeId.length;
  if (tag.length <= n + 1 || tag[n] !== 0x3a) return 0;
  for (let i = 0; i < n; i++) if (tag[i] !== nodeId[i]) return 0;
  let id = 0;
  for (let i = n + 1; i < tag.length; i++) {
    const d = tag[i]! - 0x30;
    if (d < 0 || d > 9) return 0;
    id = id * 10 + d;
  }
  return Number.isSafeInteger(id) ? id : 0;
}
