/**
 * The memory engine's recovery rule (PROTOCOL-RELAY.md §3.4), as a property against a model that keeps every
 * publication: history(since) says RECOVERED only when it returns exactly every publication of the topic after
 * `since`; it says so whenever nothing after `since` was dropped; a position of another epoch, or any position
 * with retention off, is never recovered; offsets only grow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineListener, Offset, Position } from '../src/engine.js';
import { MemoryEngine } from '../src/memory-engine.js';

const TOPICS = ['t0', 't1', 't2'];
const silent: EngineListener = { publication: () => {}, availability: () => {} };

type Op = { kind: 'publish'; topic: number; size: number } | { kind: 'wait'; ms: number } | { kind: 'check'; topic: number; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('publish' as const), topic: fc.nat(2), size: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('check' as const), topic: fc.nat(2), pick: fc.nat() }) },
);

describe('memory engine recovery', () => {
  it('RECOVERED exactly when nothing after the position was dropped; then the history is exactly what followed', async () => {
    await fc.assert(
      // maxTopics 2 of 3 topics: logs get forgotten (then refusing is allowed: the engine cannot tell); 3: never.
      fc.asyncProperty(fc.array(opArb, { maxLength: 80 }), fc.boolean(), fc.constantFrom(2, 3), async (ops, retain, maxTopics) => {
        let now = 0;
        const engine = new MemoryEngine({ maxFrames: retain ? 5 : 0, maxBytes: 100, maxAgeMs: 1_000, replayMs: 1_000, maxTopics }, () => now);
        await engine.start(silent);
        // The model: every publication ever made, per topic, and the positions a client could hold.
        const all = TOPICS.map(() => [] as { offset: Offset; frame: Uint8Array }[]);
        const positions = TOPICS.map(() => [] as Offset[]);
        let last = 0;
        for (const op of ops) {
          if (op.kind === 'publish') {
            const frame = new Uint8Array(op.size).fill(all[op.topic]!.length % 256);
            const { offset, epoch } = await engine.publish(TOPICS[op.topic]!, frame, 1);
            expect(epoch).toEqual(engine.epoch);
            expect(offset.seq).toBeGreaterThan(last);
            last = offset.seq;
            all[op.topic]!.push({ offset, frame });
            positions[op.topic]!.push(offset);
          } else if (op.kind === 'wait') {
            now += op.ms;
          } else {
            const topic = TOPICS[op.topic]!;
            const first = await engine.history(topic, undefined);
            const candidates = [...positions[op.topic]!, first.head];
            const at = candidates[op.pick % candidates.length]!;
            const since: Position = { epoch: engine.epoch, offset: at };
            const h = await engine.history(topic, since);
            const after = all[op.topic]!.filter((p) => p.offset.seq > at.seq);
            if (h.recovered) {
              expect(h.publications.map((p) => p.offset.seq)).toEqual(after.map((p) => p.offset.seq));
            } else if (retain && maxTopics === 3) {
              // Refused only if a publication after `since` is gone (the replay window is the whole log here).
              const held = new Set(first.publications.map((p) => p.offset.seq));
              expect(after.some((p) => !held.has(p.offset.seq))).toBe(true);
            }
            const other: Position = { epoch: new Uint8Array(8).fill(0xee), offset: at };
            expect((await engine.history(topic, other)).recovered).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
