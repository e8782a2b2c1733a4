/** The Redis engine's record and notification formats (src/redis-wire.ts, PROTOCOL-RELAY.md §6): round trips, bad input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord, parseAppend, parseNotification, publisherTag } from '../src/redis-wire.js';

/** What the APPEND script builds (redis-scripts.ts): the head `[epoch][ids length u16be][ids]`, then the records. */
function notification(epoch: Buffer, ids: string[], records: Buffer[]): { head: Buffer; message: Buffer } {
  const list = Buffer.from(ids.join(' '), 'latin1');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(list.length);
  const head = Buffer.concat([epoch, length, list]);
  return { head, message: Buffer.concat([head, ...records]) };
}

const id = fc.tuple(fc.nat({ max: 2 ** 45 }), fc.nat({ max: 2 ** 20 }));
const frame = fc.uint8Array({ maxLength: 300 });

function parsed(m: Buffer): { offset: { ms: number; seq: number }; frame: Buffer; tag: string }[] {
  const out: { offset: { ms: number; seq: number }; frame: Buffer; tag: string }[] = [];
  parseNotification(m, (offset, tag, f) => out.push({ offset, frame: Buffer.from(f), tag: tag.toString('latin1') }));
  return out;
}

describe('notification', () => {
  it('property: every record reads back with its id, tag and frame, in order; APPEND reply gives the same ids', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.array(fc.tuple(id, fc.nat({ max: 2 ** 31 }), frame), { minLength: 1, maxLength: 20 }), (epoch, items) => {
        const ids = items.map(([[ms, seq]]) => `${ms}-${seq}`);
        const records = items.map(([, from, f]) => encodeRecord(publisherTag('0123456789abcdef', from), f));
        const { head, message } = notification(Buffer.from(epoch), ids, records);
        expect(parsed(message)).toEqual(items.map(([[ms, seq], from, f]) => ({ offset: { ms, seq }, frame: Buffer.from(f), tag: `0123456789abcdef:${from}` })));
        expect(parseAppend(head, items.length)).toEqual({ epoch: new Uint8Array(epoch), offsets: items.map(([[ms, seq]]) => ({ ms, seq })) });
      }),
    );
  });

  it('property: a message cut, extended or with a byte changed is refused whole or read whole (never a throw, never a part)', () => {
    const records = [encodeRecord('n:1', Buffer.from('abc')), encodeRecord('n:2', Buffer.from('de'))];
    const { message } = notification(Buffer.alloc(8, 1), ['1-0', '1-1'], records);
    fc.assert(
      fc.property(fc.nat({ max: message.length }), fc.nat({ max: message.length - 1 }), fc.integer({ min: 0, max: 255 }), (cut, at, byte) => {
        const cutOne = message.subarray(0, cut);
        const changed = Buffer.from(message);
        changed[at] = byte;
        for (const m of [cutOne, changed, Buffer.concat([message, Buffer.from([byte])])]) {
          const out = parsed(m);
          expect(out.length === 0 || out.length === 2).toBe(true);
          if (out.length === 0) expect(parseNotification(m, () => {})).toBeUndefined();
        }
        if (cut < message.length) expect(parsed(cutOne)).toEqual([]);
      }),
    );
  });

  it('refuses an APPEND reply that does not hold exactly the batch ids', () => {
    const { head } = notification(Buffer.alloc(8), ['1-0', '1-1'], []);
    expect(() => parseAppend(head, 3)).toThrow(/unexpected reply/);
    expect(() => parseAppend(head, 1)).toThrow(/unexpected reply/);
    expect(() => parseAppend(head.subarray(0, 9), 0)).toThrow(/unexpected reply/);
    expect(() => parseAppend([head], 2)).toThrow(/unexpected reply/);
  });
});
