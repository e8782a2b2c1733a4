/** The Redis engine's record and notification formats (src/redis-wire.ts, PROTOCOL-RELAY.md §6): round trips, bad input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord, isStreamIdBytes, parseAppend, parseNotification, parseStreamIdBytes, recordLength, tagConnection, writeRecord } from '../src/redis-wire.js';

/** What the APPEND script publishes (redis-scripts.ts): the head `[epoch][ids length u16be][ids]`, then the body (the records). */
function notification(epoch: Buffer, ids: string[], records: Buffer[]): { head: Buffer; body: Buffer } {
  const list = Buffer.from(ids.join(' '), 'latin1');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(list.length);
  return { head: Buffer.concat([epoch, length, list]), body: Buffer.concat(records) };
}

const id = fc.tuple(fc.nat({ max: 2 ** 45 }), fc.nat({ max: 2 ** 20 }));
const frame = fc.uint8Array({ maxLength: 300 });
const NODE = Buffer.from('0123456789abcdef', 'latin1');

function parsed(head: Buffer, body: Buffer): { offset: { ms: number; seq: number }; frame: Buffer; from: number }[] {
  const out: { offset: { ms: number; seq: number }; frame: Buffer; from: number }[] = [];
  parseNotification(head, body, NODE, (offset, from, f) => out.push({ offset, frame: Buffer.from(f), from }));
  return out;
}

/** A batch body as the appender writes it (writeRecord into one buffer). */
function body(items: [number, Uint8Array][]): Buffer {
  const out = Buffer.alloc(items.reduce((n, [from, f]) => n + recordLength(NODE, from, f.length), 0));
  let at = 0;
  for (const [from, f] of items) at = writeRecord(out, at, NODE, from, f);
  expect(at).toBe(out.length);
  return out;
}

describe('record', () => {
  it('property: writeRecord writes encodeRecord(`<node id>:<from>`, frame) byte for byte, at any position', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), frame, fc.nat({ max: 7 }), (from, f, at) => {
        const expected = encodeRecord(`${NODE.toString('latin1')}:${from}`, f);
        expect(recordLength(NODE, from, f.length)).toBe(expected.length);
        const out = Buffer.alloc(at + expected.length, 0xee);
        expect(writeRecord(out, at, NODE, from, f)).toBe(out.length);
        expect(out.subarray(at)).toEqual(expected);
        expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
      }),
    );
  });
});

describe('notification', () => {
  it('property: every record reads back with its id, tag and frame, in order; APPEND reply gives the same ids', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.array(fc.tuple(id, fc.nat({ max: 2 ** 31 }), frame), { minLength: 1, maxLength: 20 }), (epoch, items) => {
        const ids = items.map(([[ms, seq]]) => `${ms}-${seq}`);
        const { head } = notification(Buffer.from(epoch), ids, []);
        const b = body(items.map(([, from, f]) => [from, f]));
        expect(parsed(head, b)).toEqual(items.map(([[ms, seq], from, f]) => ({ offset: { ms, seq }, frame: Buffer.from(f), from })));
        expect(parseAppend(head, items.length)).toEqual({ epoch: new Uint8Array(epoch), offsets: items.map(([[ms, seq]]) => ({ ms, seq })) });
      }),
    );
  });

  it('property: a head or body cut, extended or with a byte changed is refused whole or read whole (never a throw, never a part)', () => {
    const records = [encodeRecord('0123456789abcdef:1', Buffer.from('abc')), encodeRecord('n:2', Buffer.from('de'))];
    const { head, body: b } = notification(Buffer.alloc(8, 1), ['1-0', '1-1'], records);
    fc.assert(
      fc.property(fc.boolean(), fc.nat({ max: 64 }), fc.nat({ max: 63 }), fc.integer({ min: 0, max: 255 }), (inHead, cutAt, changeAt, byte) => {
        const m = inHead ? head : b;
        const cut = cutAt % (m.length + 1);
        const cutOne = m.subarray(0, cut);
        const changed = Buffer.from(m);
        changed[changeAt % m.length] = byte;
        for (const x of [cutOne, changed, Buffer.concat([m, Buffer.from([byte])])]) {
          const [h, y] = inHead ? [x, b] : [head, x];
          const out = parsed(h, y);
          expect(out.length === 0 || out.length === 2).toBe(true);
          if (out.length === 0) expect(parseNotification(h, y, NODE, () => {})).toBeUndefined();
        }
        if (cut < m.length) expect(inHead ? parsed(cutOne, b) : parsed(head, cutOne)).toEqual([]);
      }),
    );
  });

  it('property: isStreamIdBytes() accepts exactly what parseStreamIdBytes() reads; parseAppend() without offsets accepts exactly what it accepts with them', () => {
    const idChars = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b.map((x) => [0x30, 0x31, 0x39, 0x2d, 0x20, 0x41][x % 6]!)));
    fc.assert(
      fc.property(fc.oneof(idChars, fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b))), fc.nat({ max: 4 }), (bytes, count) => {
        const parsedId = parseStreamIdBytes(bytes, 0, bytes.length);
        expect(isStreamIdBytes(bytes, 0, bytes.length)).toBe(parsedId !== undefined);
        if (parsedId !== undefined) expect(`${parsedId.ms}-${parsedId.seq}`).toBe(bytes.toString('latin1').replace(/^0+(?=\d)/, '').replace(/-0+(?=\d)/, '-'));
        const length = Buffer.alloc(2);
        length.writeUInt16BE(bytes.length);
        const head = Buffer.concat([Buffer.alloc(8, 3), length, bytes]);
        const outcome = (offsets: boolean) => {
          try {
            return parseAppend(head, count, offsets).epoch.length;
          } catch {
            return -1;
          }
        };
        expect(outcome(false)).toBe(outcome(true));
      }),
    );
  });

  it('tagConnection: the connection id of this node\'s tags only, inside a larger buffer too', () => {
    const body = Buffer.from('xx0123456789abcdef:42yy0123456789abcdee:7', 'latin1');
    expect(tagConnection(body, NODE, 2, 21)).toBe(42);
    expect(tagConnection(body, NODE, 23, body.length)).toBe(0); // another node
    expect(tagConnection(Buffer.from('0123456789abcdef:4x'), NODE)).toBe(0);
    expect(tagConnection(Buffer.from('0123456789abcdef:'), NODE)).toBe(0);
  });

  it('refuses an APPEND reply that does not hold exactly the batch ids', () => {
    const { head } = notification(Buffer.alloc(8), ['1-0', '1-1'], []);
    expect(() => parseAppend(head, 3)).toThrow(/unexpected reply/);
    expect(() => parseAppend(head, 1)).toThrow(/unexpected reply/);
    expect(() => parseAppend(head.subarray(0, 9), 0)).toThrow(/unexpected reply/);
    expect(() => parseAppend([head], 2)).toThrow(/unexpected reply/);
  });
});
