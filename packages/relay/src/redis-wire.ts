/**
 * What crosses the wire between the Redis engine and Redis (PROTOCOL-RELAY.md §6): stream ids, the scripts'
 * replies (redis-scripts.ts) and the notification format. Every parser validates before it allocates and
 * turns anything unexpected into EngineUnavailable (never a crash).
 *
 * Record (a stream entry's one field `r`, built by the node): `[tag length 1][tag][frame length u32be][frame]`.
 * Batch body: a batch's records back to back, in stream order (one argument of APPEND per topic).
 * Notification (one per topic per APPEND call, on the topic's channel): two messages, one right after the
 * other (the script publishes both, atomically): the head `[epoch 8][ids length u16be][ids]`, then the batch
 * body as the node sent it; `ids` are the records' stream ids, ASCII, separated by one space.
 */
import { EPOCH_BYTES, EngineUnavailable, type Offset } from './engine.js';

/** Bytes of a notification (and of APPEND's reply) before its ids. */
const NOTE_HEAD = EPOCH_BYTES + 2;

export function formatStreamId(offset: Offset): string {
  return `${offset.ms}-${offset.seq}`;
}

/** Whether bytes [start, end) of `b` are an id `<ms>-<seq>` that parseStreamIdBytes() reads (without an object). */
export function isStreamIdBytes(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  let ms = 0;
  for (; i < end && b[i] !== 0x2d; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return false;
    ms = ms * 10 + d;
  }
  if (i === start || i >= end - 1 || !Number.isSafeInteger(ms)) return false;
  let seq = 0;
  for (i++; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return false;
    seq = seq * 10 + d;
  }
  return Number.isSafeInteger(seq);
}

/**
 * The id `<ms>-<seq>` in bytes [start, end) of `b` as an Offset (undefined unless both parts are safe integers),
 * without a string or a regex (the append and notification hot path).
 */
export function parseStreamIdBytes(b: Uint8Array, start: number, end: number): Offset | undefined {
  if (!isStreamIdBytes(b, start, end)) return undefined;
  let ms = 0;
  let i = start;
  for (; b[i] !== 0x2d; i++) ms = ms * 10 + b[i]! - 0x30;
  let seq = 0;
  for (i++; i < end; i++) seq = seq * 10 + b[i]! - 0x30;
  return { ms, seq };
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

/**
 * APPEND's reply for a batch of `count` frames, the notification's head `[epoch 8][ids length u16be][ids]`:
 * the epoch, and each frame's offset (in order) when `offsets` is true; the ids are checked either way.
 */
export function parseAppend(reply: unknown, count: number, offsets = true): { epoch: Uint8Array; offsets: Offset[] | undefined } {
  const r = asBuffer(reply, 'append');
  if (r.length < NOTE_HEAD || NOTE_HEAD + r.readUInt16BE(EPOCH_BYTES) !== r.length) throw bad('append');
  const list = offsets ? new Array<Offset>(count) : undefined;
  let id = NOTE_HEAD;
  for (let i = 0; i < count; i++) {
    let idEnd = id;
    while (idEnd < r.length && r[idEnd] !== 0x20) idEnd++;
    if (list === undefined) {
      if (!isStreamIdBytes(r, id, idEnd)) throw bad('id');
    } else {
      const offset = parseStreamIdBytes(r, id, idEnd);
      if (offset === undefined) throw bad('id');
      list[i] = offset;
    }
    id = idEnd + 1;
  }
  if (id !== r.length + 1) throw bad('append');
  return { epoch: new Uint8Array(r.subarray(0, EPOCH_BYTES)), offsets: list };
}

/** A stream entry as READ returns it. */
export interface Entry {
  offset: Offset;
  frame: Buffer;
  /** The publisher tag, `<node id>:<connection id>` (writeRecord()). */
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
      if (name === 'r') {
        const r = asBuffer(f[i + 1], 'record');
        const end = recordEnd(r, 0);
        if (end !== r.length) throw bad('record');
        tag = r.subarray(TAG_HEAD, TAG_HEAD + r[0]!);
        frame = r.subarray(TAG_HEAD + r[0]! + FRAME_HEAD);
      } else if (name === 'f') frame = asBuffer(f[i + 1], 'frame'); // entries written before records (`f`, `t`)
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

/** Bytes of a record before its tag and between its tag and its frame. */
const TAG_HEAD = 1;
const FRAME_HEAD = 4;

/** The record of `frame` published by `tag` (`<node id>:<connection id>`, at most 255 bytes, latin1). */
export function encodeRecord(tag: string, frame: Uint8Array): Buffer {
  const t = tag.length;
  const r = Buffer.allocUnsafe(TAG_HEAD + t + FRAME_HEAD + frame.length);
  r[0] = t;
  r.write(tag, TAG_HEAD, t, 'latin1');
  r.writeUInt32BE(frame.length, TAG_HEAD + t);
  r.set(frame, TAG_HEAD + t + FRAME_HEAD);
  return r;
}

/** Decimal digits of a non-negative safe integer. */
export function digits(n: number): number {
  let d = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) d++;
  return d;
}

/** Writes the non-negative safe integer `n` in decimal ASCII at `at`; returns where it ends. */
export function writeNumber(out: Uint8Array, at: number, n: number): number {
  const end = at + digits(n);
  for (let j = end - 1, x = n; j >= at; j--, x = Math.floor(x / 10)) out[j] = 0x30 + (x % 10);
  return end;
}

/** Bytes of the record of a `frameLength`-byte frame from connection `from` of node `nodeId` (writeRecord()). */
export function recordLength(nodeId: Uint8Array, from: number, frameLength: number): number {
  return TAG_HEAD + nodeId.length + 1 + digits(from) + FRAME_HEAD + frameLength;
}

/**
 * Writes at `at` in `out` the record of `frame` from connection `from` of node `nodeId` (tag `<node id>:<from>`,
 * encodeRecord(`<node id>:<from>`, frame) byte for byte, without a string per frame); returns where it ends.
 */
export function writeRecord(out: Buffer, at: number, nodeId: Uint8Array, from: number, frame: Uint8Array): number {
  const n = digits(from);
  out[at] = nodeId.length + 1 + n;
  out.set(nodeId, at + TAG_HEAD);
  let i = at + TAG_HEAD + nodeId.length;
  out[i] = 0x3a;
  i = writeNumber(out, i + 1, from);
  out.writeUInt32BE(frame.length, i);
  out.set(frame, i + FRAME_HEAD);
  return i + FRAME_HEAD + frame.length;
}

/** The end of the record starting at `at` in `b`, or -1 when it does not fit. */
function recordEnd(b: Uint8Array, at: number): number {
  const tagEnd = at + TAG_HEAD + (b[at] ?? 0);
  if (at >= b.length || tagEnd + FRAME_HEAD > b.length) return -1;
  const end = tagEnd + FRAME_HEAD + ((b[tagEnd]! << 24) >>> 0) + (b[tagEnd + 1]! << 16) + (b[tagEnd + 2]! << 8) + b[tagEnd + 3]!;
  return end <= b.length ? end : -1;
}

/**
 * Calls `each` for every record of a notification (its head and body), in order, with its offset, the
 * connection id in its tag (tagConnection()) and the frame as a view of `body` (no copy), once the whole
 * notification is found well formed (as many records as ids, nothing left over); returns its epoch, or
 * undefined (and calls nothing) when it is not.
 */
export function parseNotification(head: Buffer, body: Buffer, nodeId: Uint8Array, each: (offset: Offset, from: number, frame: Buffer) => void): Buffer | undefined {
  if (head.length < NOTE_HEAD || NOTE_HEAD + head.readUInt16BE(EPOCH_BYTES) !== head.length || !walk(head, body, undefined, undefined)) return undefined;
  walk(head, body, nodeId, each);
  return head.subarray(0, EPOCH_BYTES);
}

/** Checks a notification (no `each`: no object made), or reads it (`each`, once checked). */
function walk(head: Buffer, body: Buffer, nodeId: Uint8Array | undefined, each: ((offset: Offset, from: number, frame: Buffer) => void) | undefined): boolean {
  let id = NOTE_HEAD;
  let at = 0;
  while (id < head.length) {
    let idEnd = id;
    while (idEnd < head.length && head[idEnd] !== 0x20) idEnd++;
    const end = recordEnd(body, at);
    if (each === undefined) {
      if (end < 0 || !isStreamIdBytes(head, id, idEnd)) return false;
    } else {
      const tagEnd = at + TAG_HEAD + body[at]!;
      each(parseStreamIdBytes(head, id, idEnd)!, tagConnection(body, nodeId!, at + TAG_HEAD, tagEnd), body.subarray(tagEnd + FRAME_HEAD, end));
    }
    id = idEnd + 1;
    at = end;
  }
  return at === body.length && id === head.length + 1;
}

/** The connection id in a publisher tag (bytes [start, end) of `tag`) when `nodeId` (ASCII) published it, 0 for any other node. */
export function tagConnection(tag: Uint8Array, nodeId: Uint8Array, start = 0, end = tag.length): number {
  const n = nodeId.length;
  if (end - start <= n + 1 || tag[start + n] !== 0x3a) return 0;
  for (let i = 0; i < n; i++) if (tag[start + i] !== nodeId[i]) return 0;
  let id = 0;
  for (let i = start + n + 1; i < end; i++) {
    const d = tag[i]! - 0x30;
    if (d < 0 || d > 9) return 0;
    id = id * 10 + d;
  }
  return Number.isSafeInteger(id) ? id : 0;
}
