/** The Redis engine (src/redis-engine.ts) against real redis-server processes: nodes, history, availability, restarts; its script and notification connections. */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { freePort, startRedis } from '@sealsig/transport-conformance';
import { EngineUnavailable, compareOffsets, type Engine, type Offset, type Position, type Publication } from '../src/engine.js';
import { redisAddress } from '../src/redis-client.js';
import { createRedisEngine } from '../src/redis-engine.js';
import { ShardSubscriber } from '../src/redis-shard-subscriber.js';
import { APPEND_SCRIPT } from '../src/redis-scripts.js';
import { encodeRecord, parseAppend } from '../src/redis-wire.js';
import type { RedisEngineOptions } from '../src/redis-options.js';
import { sleep, text, waitFor } from './helpers.js';

const LONG = 20_000;

interface Delivered {
  topic: string;
  epoch: Uint8Array;
  publication: Publication;
}

interface Node {
  engine: Engine;
  delivered: Delivered[];
  availability: [boolean, string][];
  logs: string[];
  on(topic: string): Delivered[];
}

async function node(url: string, options: Partial<RedisEngineOptions> = {}): Promise<Node> {
  const delivered: Delivered[] = [];
  const availability: [boolean, string][] = [];
  const logs: string[] = [];
  const engine = createRedisEngine({ url, logger: (level, message) => logs.push(`${level} ${message}`), ...options });
  onTestFinished(() => engine.close());
  await engine.start({
    publication: (topic, epoch, publication) => delivered.push({ topic, epoch, publication }),
    availability: (available, reason) => availability.push([available, reason]),
  });
  return { engine, delivered, availability, logs, on: (topic) => delivered.filter((d) => d.topic === topic) };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function str(b: Uint8Array): string {
  return Buffer.from(b).toString();
}

async function publishAll(engine: Engine, topic: string, frames: string[], from = 1): Promise<{ epoch: Uint8Array; offset: Offset }[]> {
  return Promise.all(frames.map((f) => engine.publish(topic, text(f), from)));
}

async function waitAvailable(n: Node, available = true): Promise<void> {
  await waitFor(() => n.engine.available === available && n.availability.at(-1)?.[0] === available, LONG, `available ${available}`);
}

/** A TCP pass-through to Redis that the test can cut (every connection dropped, new ones refused) and restore. */
async function proxy(target: number): Promise<{ url: string; cut(): void; restore(): Promise<void>; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = async (): Promise<void> => {
    const s = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('error', () => {});
        sock.on('close', () => (sockets.delete(sock), client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
    server = s;
  };
  const cut = (): void => {
    server?.close();
    server = undefined;
    for (const s of sockets) s.destroy();
  };
  await listen();
  return { url: `redis://127.0.0.1:${port}`, cut, restore: listen, close: async () => cut() };
}

describe('Redis engine, one Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let probe: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    probe?.disconnect();
    await redis?.stop();
  });

  it('two nodes: a publication on A reaches B in order, with the same epoch and offset; from is the connection id on A only', async () => {
    const a = await node(redis.url);
    const b = await node(redis.url);
    expect(a.engine.available && b.engine.available).toBe(true);
    expect(a.engine.kind).toBe('redis');
    await a.engine.subscribe('two-nodes');
    await b.engine.subscribe('two-nodes');
    expect(b.engine.topics).toBe(1);
    const frames = Array.from({ length: 50 }, (_, i) => `f${i}`);
    const results = await publishAll(a.engine, 'two-nodes', frames, 7);
    for (let i = 1; i < results.length; i++) expect(compareOffsets(results[i - 1]!.offset, results[i]!.offset)).toBeLessThan(0);
    expect(new Set(results.map((r) => hex(r.epoch))).size).toBe(1);
    await waitFor(() => b.on('two-nodes').length === 50 && a.on('two-nodes').length === 50, LONG);
    for (const [n, from] of [
      [b, 0],
      [a, 7],
    ] as const) {
      const got = n.on('two-nodes');
      expect(got.map((d) => str(d.publication.frame))).toEqual(frames);
      expect(got.map((d) => d.publication.offset)).toEqual(results.map((r) => r.offset));
      expect(got.every((d) => hex(d.epoch) === hex(results[0]!.epoch))).toBe(true);
      expect(got.every((d) => d.publication.from === from)).toBe(true);
    }
    // unsubscribe: nothing more reaches B.
    b.engine.unsubscribe('two-nodes');
    b.engine.unsubscribe('two-nodes');
    expect(b.engine.topics).toBe(0);
    await a.engine.publish('two-nodes', text('after'), 7);
    await waitFor(() => a.on('two-nodes').length === 51, LONG);
    await sleep(50);
    expect(b.on('two-nodes')).toHaveLength(50);
    // unsubscribe while subscribe() is under way: not subscribed.
    const joining = b.engine.subscribe('two-nodes');
    b.engine.unsubscribe('two-nodes');
    await joining;
    expect(b.engine.topics).toBe(0);
  });

  it('history with since: exact recovery, another epoch, nothing after the head', async () => {
    const a = await node(redis.url);
    const r = await publishAll(a.engine, 'hist', ['h0', 'h1', 'h2', 'h3']);
    const h = await a.engine.history('hist', { epoch: r[1]!.epoch, offset: r[1]!.offset });
    expect(h.recovered).toBe(true);
    expect(hex(h.epoch)).toBe(hex(r[0]!.epoch));
    expect(h.head).toEqual(r[3]!.offset);
    expect(h.publications.map((p) => str(p.frame))).toEqual(['h2', 'h3']);
    expect(h.publications.map((p) => p.offset)).toEqual([r[2]!.offset, r[3]!.offset]);
    expect(h.publications.every((p) => p.from === 1)).toBe(true);
    const atHead = await a.engine.history('hist', { epoch: r[3]!.epoch, offset: h.head });
    expect(atHead).toMatchObject({ recovered: true, publications: [] });
    // Another epoch: not recovered, the recent window instead.
    const other = await a.engine.history('hist', { epoch: new Uint8Array(8), offset: r[1]!.offset });
    expect(other.recovered).toBe(false);
    expect(other.publications.map((p) => str(p.frame))).toEqual(['h0', 'h1', 'h2', 'h3']);
    // No since: the recent window, never recovered.
    const none = await a.engine.history('hist', undefined);
    expect(none.recovered).toBe(false);
    expect(none.publications).toHaveLength(4);
    // Another node sees from = 0.
    const b = await node(redis.url);
    const hb = await b.engine.history('hist', undefined);
    expect(hb.publications.every((p) => p.from === 0)).toBe(true);
  });

  it('history: trimmed by count (XADD MAXLEN ~): a position is recovered only while every frame after it is kept; every kept one is', async () => {
    const a = await node(redis.url, { maxFrames: 10 });
    const r = await publishAll(a.engine, 'trim', Array.from({ length: 400 }, (_, i) => `t${i}`));
    const len = await probe.xlen('sealsig:s:{trim}');
    expect(len).toBeGreaterThanOrEqual(10);
    expect(len).toBeLessThan(400); // whole radix-tree nodes go (100 entries each by default)
    const kept = 400 - len; // index of the first frame still in the stream
    for (let i = 0; i < 400; i++) {
      const h = await a.engine.history('trim', { epoch: r[0]!.epoch, offset: r[i]!.offset });
      if (i >= kept && 399 - i <= 10) expect(h.recovered, `position ${i}`).toBe(true); // (more than maxFrames after it: not recovered either)
      else if (i < kept - 1) expect(h.recovered, `position ${i}`).toBe(false); // the frame after it is gone
      if (h.recovered) expect(h.publications.map((p) => str(p.frame))).toEqual(r.slice(i + 1).map((_, k) => `t${i + 1 + k}`));
      else expect(h.publications.at(-1)?.offset).toEqual(r[399]!.offset);
    }
  });

  it('history: trimmed by age, a quiet topic still recovers from the newest frame trimmed away, not from older ones', async () => {
    const a = await node(redis.url, { maxAgeMs: 200 });
    const [w, x] = await publishAll(a.engine, 'aged', ['w', 'x']);
    await sleep(300); // both are older than maxAgeMs now
    const y = await a.engine.publish('aged', text('y'), 1);
    expect(await probe.xlen('sealsig:s:{aged}')).toBe(1);
    const fromX = await a.engine.history('aged', { epoch: x!.epoch, offset: x!.offset });
    expect(fromX.recovered).toBe(true);
    expect(fromX.publications.map((p) => str(p.frame))).toEqual(['y']);
    expect((await a.engine.history('aged', { epoch: w!.epoch, offset: w!.offset })).recovered).toBe(false);
    expect((await a.engine.history('aged', { epoch: y.epoch, offset: y.offset })).recovered).toBe(true);
  });

  it('publish: one script call per tick for several topics; settled in call order across topics; calls hold 128 frames at most', async () => {
    const a = await node(redis.url, { keyPrefix: 'batch:' });
    const calls = async (): Promise<number> => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await probe.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    const settled: number[] = [];
    const topics = ['b0', 'b1', 'b2'];
    const all = Array.from({ length: 60 }, (_, i) => a.engine.publish(topics[(i * 7) % 3]!, text(`m${i}`), 1).then((r) => (settled.push(i), r)));
    const results = await Promise.all(all);
    expect(settled).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect((await calls()) - before).toBe(1);
    for (const topic of topics) {
      const mine = results.filter((_, i) => topics[(i * 7) % 3] === topic);
      for (let k = 1; k < mine.length; k++) expect(compareOffsets(mine[k - 1]!.offset, mine[k]!.offset)).toBeLessThan(0);
      const h = await a.engine.history(topic, undefined);
      expect(h.publications.map((p) => p.offset)).toEqual(mine.map((m) => m.offset));
    }
    const big = await calls();
    await publishAll(a.engine, 'b3', Array.from({ length: 300 }, (_, i) => `n${i}`));
    expect((await calls()) - big).toBe(3); // 128 + 128 + 44
    const spread = await calls();
    const r = await Promise.all(Array.from({ length: 180 }, (_, i) => a.engine.publish(`c${i % 3}`, text(`c${i}`), 1)));
    expect((await calls()) - spread).toBe(2); // 60 + 60 frames of two topics, then the third topic's 60
    expect(new Set(r.map((x) => Buffer.from(x.epoch).toString('hex'))).size).toBe(3); // one epoch per stream
  });

  it('APPEND: a call with one body that does not split into whole records writes and publishes nothing, for any topic; a good call publishes head then body', async () => {
    await probe.script('LOAD', APPEND_SCRIPT.source);
    const sub = new Redis(redis.url);
    onTestFinished(() => sub.disconnect());
    const messages: [string, Buffer][] = [];
    sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => messages.push([channel.toString(), message]));
    await sub.ssubscribe('bad:n:{x}');
    const good = encodeRecord('n:1', text('hello'));
    const cut = encodeRecord('n:2', text('world')).subarray(0, 9);
    const long = Buffer.concat([good, Buffer.from([1])]);
    const call = (second: Buffer) =>
      probe.callBuffer('EVALSHA', APPEND_SCRIPT.sha, 4, 'bad:s:{x}', 'bad:e:{x}', 'bad:s:{y}', 'bad:e:{y}', '1000', '60000', '60000', '0', Buffer.alloc(8, 1), '0', '0', 'bad:n:{x}', good, Buffer.alloc(8, 2), '0', '0', 'bad:n:{y}', second);
    for (const second of [cut, long, Buffer.alloc(0), Buffer.from([200, 0, 0])]) {
      await expect(call(second)).rejects.toThrow(/malformed batch/);
      expect(await probe.exists('bad:s:{x}', 'bad:e:{x}', 'bad:s:{y}', 'bad:e:{y}')).toBe(0);
    }
    const reply = (await call(Buffer.concat([good, good]))) as Buffer[];
    expect(reply).toHaveLength(2);
    expect(parseAppend(reply[0], 1).offsets).toHaveLength(1);
    expect(parseAppend(reply[1], 2).offsets).toHaveLength(2);
    await waitFor(() => messages.length === 2, LONG, 'the notification');
    expect(messages).toEqual([
      ['bad:n:{x}', reply[0]],
      ['bad:n:{x}', good],
    ]);
  });

  function subscriber(): { sub: ShardSubscriber; messages: [string, string, string][]; lost: string[] } {
    const messages: [string, string, string][] = [];
    const lost: string[] = [];
    const sub = new ShardSubscriber(redisAddress(redis.url), false, {
      message: (channel, head, body) => messages.push([channel.toString(), head.toString(), body.toString()]),
      lost: (channel) => lost.push(channel),
      route: () => undefined,
    });
    onTestFinished(() => sub.close());
    return { sub, messages, lost };
  }

  it('notification connection: pairs each head with the body published right after it, per channel, in order', async () => {
    const { sub, messages, lost } = subscriber();
    await sub.subscribe('p:x');
    await sub.subscribe('p:y');
    const both = `redis.call('SPUBLISH', KEYS[1], ARGV[1]) redis.call('SPUBLISH', KEYS[1], ARGV[2])`;
    for (const [channel, head, body] of [['p:x', 'h1', 'b1'], ['p:y', 'h2', 'b2'], ['p:x', 'h3', 'b3']] as const) await probe.eval(both, 1, channel, head, body);
    await waitFor(() => messages.length === 3, 10_000, 'three notifications');
    expect(messages).toEqual([['p:x', 'h1', 'b1'], ['p:y', 'h2', 'b2'], ['p:x', 'h3', 'b3']]);
    expect(lost).toEqual([]);
  });

  it('notification connection: a head followed by a message of another channel (never sent by APPEND) closes the connection: every channel is reported lost, nothing is delivered', async () => {
    const { sub, messages, lost } = subscriber();
    await sub.subscribe('q:x');
    await sub.subscribe('q:y');
    await probe.spublish('q:x', 'head');
    await probe.spublish('q:y', 'not its body');
    await waitFor(() => lost.length === 2, 10_000, 'both channels lost');
    expect(lost.sort()).toEqual(['q:x', 'q:y']);
    expect(messages).toEqual([]);
    await sub.subscribe('q:x'); // subscribed again, on a new connection: pairs start afresh
    await probe.eval(`redis.call('SPUBLISH', KEYS[1], ARGV[1]) redis.call('SPUBLISH', KEYS[1], ARGV[2])`, 1, 'q:x', 'h', 'b');
    await waitFor(() => messages.length === 1, 10_000, 'a notification');
    expect(messages).toEqual([['q:x', 'h', 'b']]);
  });

  it('history: reads records, entries of earlier versions (fields f and t), and refuses a bad record with EngineUnavailable', async () => {
    const a = await node(redis.url, { keyPrefix: 'rec:' });
    const [p] = await publishAll(a.engine, 'r', ['new'], 7);
    const h = await a.engine.history('r', undefined);
    expect(h.publications.map((x) => [str(x.frame), x.from])).toEqual([['new', 7]]);
    await probe.xadd('rec:s:{r}', `${p!.offset.ms + 1}-0`, 'f', 'old', 't', 'ffffffffffffffff:3');
    expect((await a.engine.history('r', undefined)).publications.map((x) => [str(x.frame), x.from])).toEqual([['new', 7], ['old', 0]]);
    await probe.xadd('rec:s:{r}', `${p!.offset.ms + 2}-0`, 'r', Buffer.from([9, 1, 2]));
    await expect(a.engine.history('r', undefined)).rejects.toBeInstanceOf(EngineUnavailable);
  });

  it('history: a position beyond the last id (a lost tail) is not recovered and bumps the epoch', async () => {
    const a = await node(redis.url);
    const [p] = await publishAll(a.engine, 'tail', ['x']);
    const beyond: Position = { epoch: p!.epoch, offset: { ms: p!.offset.ms + 1_000, seq: 0 } };
    const h = await a.engine.history('tail', beyond);
    expect(h.recovered).toBe(false);
    expect(hex(h.epoch)).not.toBe(hex(p!.epoch));
    expect(h.publications.map((x) => str(x.frame))).toEqual(['x']);
    // The old epoch is gone for everyone; the next publication carries the new one.
    expect((await a.engine.history('tail', { epoch: p!.epoch, offset: p!.offset })).recovered).toBe(false);
    const next = await a.engine.publish('tail', text('y'), 1);
    expect(hex(next.epoch)).toBe(hex(h.epoch));
  });

  it('history of a topic without a stream: an epoch the first publication keeps, recovered only from its start', async () => {
    const a = await node(redis.url);
    const h = await a.engine.history('fresh', undefined);
    expect(h).toMatchObject({ recovered: false, publications: [], head: { ms: 0, seq: 0 } });
    const again = await a.engine.history('fresh', { epoch: h.epoch, offset: h.head });
    expect(again.recovered).toBe(true);
    expect(hex(again.epoch)).toBe(hex(h.epoch));
    const p = await a.engine.publish('fresh', text('first'), 1);
    expect(hex(p.epoch)).toBe(hex(h.epoch));
    const after = await a.engine.history('fresh', { epoch: h.epoch, offset: h.head });
    expect(after.recovered).toBe(true);
    expect(after.publications.map((x) => str(x.frame))).toEqual(['first']);
    // A lost stream (deleted here) starts a new epoch at its next publication.
    await probe.del('sealsig:s:{fresh}');
    const lost = await a.engine.history('fresh', { epoch: p.epoch, offset: p.offset });
    expect(lost.recovered).toBe(false);
    const q = await a.engine.publish('fresh', text('second'), 1);
    expect(hex(q.epoch)).not.toBe(hex(p.epoch));
  });

  it('every key it writes expires', async () => {
    const a = await node(redis.url, { streamTtlMs: 120_000, keyPrefix: 'ttl:' });
    await a.engine.subscribe('k1');
    await a.engine.publish('k1', text('x'), 1);
    await a.engine.history('k2', undefined); // reserves an epoch for a stream that does not exist yet
    await a.engine.history('k1', { epoch: new Uint8Array(8), offset: { ms: 0, seq: 0 } });
    const keys = await probe.keys('ttl:*');
    expect(keys.sort()).toEqual(['ttl:e:{k1}', 'ttl:e:{k2}', 'ttl:s:{k1}']);
    for (const key of keys) {
      const ttl = await probe.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(132_000); // streamTtlMs + a tenth (the refresh interval, redis-appender.ts)
    }
  });

  it('property: offsets strictly increase per topic, and history(since = p) returns exactly the publications after p', async () => {
    const a = await node(redis.url, { maxFrames: 5_000 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 40 }), async (ops) => {
        run++;
        const topics = [0, 1, 2].map((i) => `prop-${run}-${i}`);
        const results = await Promise.all(ops.map(([t, frame]) => a.engine.publish(topics[t]!, frame, 3)));
        for (const [i, topic] of topics.entries()) {
          const mine = ops.flatMap(([t, frame], k) => (t === i ? [{ frame, ...results[k]! }] : []));
          for (let k = 1; k < mine.length; k++) expect(compareOffsets(mine[k - 1]!.offset, mine[k]!.offset)).toBeLessThan(0);
          for (let k = 0; k < mine.length; k++) {
            const h = await a.engine.history(topic, { epoch: mine[k]!.epoch, offset: mine[k]!.offset });
            expect(h.recovered).toBe(true);
            expect(h.publications.map((p) => [p.offset, Buffer.from(p.frame)])).toEqual(mine.slice(k + 1).map((m) => [m.offset, Buffer.from(m.frame)]));
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a node whose connections drop catches up what another node published meanwhile, in order, without duplicates', async () => {
    const cutter = await proxy(redis.port);
    onTestFinished(() => cutter.close());
    const a = await node(redis.url);
    const b = await node(cutter.url);
    await b.engine.subscribe('catch');
    await b.engine.subscribe('catch-2');
    const before = await publishAll(a.engine, 'catch', ['c0', 'c1']);
    await waitFor(() => b.on('catch').length === 2, LONG);
    cutter.cut();
    await waitAvailable(b, false);
    await expect(b.engine.publish('catch', text('nope'), 1)).rejects.toBeInstanceOf(EngineUnavailable);
    const during = await publishAll(
      a.engine,
      'catch',
      Array.from({ length: 30 }, (_, i) => `d${i}`),
    );
    await a.engine.publish('catch-2', text('other topic'), 1);
    await cutter.restore();
    await waitAvailable(b, true);
    // Publications keep flowing while B catches up.
    const live = publishAll(
      a.engine,
      'catch',
      Array.from({ length: 30 }, (_, i) => `l${i}`),
    );
    const after = await live;
    const all = [...before, ...during, ...after];
    await waitFor(() => b.on('catch').length >= all.length && b.on('catch-2').length === 1, LONG);
    await sleep(100);
    expect(b.on('catch').map((d) => d.publication.offset)).toEqual(all.map((r) => r.offset));
    expect(b.on('catch').map((d) => str(d.publication.frame))).toEqual(['c0', 'c1', ...during.map((_, i) => `d${i}`), ...after.map((_, i) => `l${i}`)]);
    expect(b.availability.filter(([up]) => !up)).toHaveLength(1);
  });

  it('a node that finds its last delivered offset beyond the stream (a lost tail) bumps the epoch while catching up', async () => {
    const cutter = await proxy(redis.port);
    onTestFinished(() => cutter.close());
    const a = await node(redis.url);
    const b = await node(cutter.url);
    await b.engine.subscribe('lost');
    const r = await publishAll(a.engine, 'lost', ['l0', 'l1', 'l2']);
    await waitFor(() => b.on('lost').length === 3, LONG);
    cutter.cut();
    await waitAvailable(b, false);
    // As if Redis came back from a crash with the last two entries lost (same epoch, shorter stream).
    await probe.del('sealsig:s:{lost}');
    await probe.xadd('sealsig:s:{lost}', `${r[0]!.offset.ms}-${r[0]!.offset.seq}`, 'f', 'l0', 't', 'x:0');
    await cutter.restore();
    await waitAvailable(b, true);
    const bumped = async (): Promise<boolean> => !Buffer.from((await probe.hgetBuffer('sealsig:e:{lost}', 'e'))!).equals(Buffer.from(r[0]!.epoch));
    const deadline = Date.now() + LONG;
    while (!(await bumped()) && Date.now() < deadline) await sleep(20);
    expect(await bumped()).toBe(true);
    expect(b.on('lost')).toHaveLength(3); // what the stream still holds was delivered already
    const next = await a.engine.publish('lost', text('l3'), 1);
    expect(hex(next.epoch)).not.toBe(hex(r[0]!.epoch));
    await waitFor(() => b.on('lost').length === 4, LONG);
    expect(hex(b.on('lost')[3]!.epoch)).toBe(hex(next.epoch));
    expect((await a.engine.history('lost', { epoch: r[2]!.epoch, offset: r[2]!.offset })).recovered).toBe(false);
  });
});

describe('Redis engine, Redis going down and coming back', () => {
  it('while Redis is down: publish rejects at once, availability(false) once; back on the same port: available, a new epoch', async () => {
    let redis = await startRedis();
    const port = redis.port;
    onTestFinished(() => redis.stop());
    const a = await node(redis.url);
    const b = await node(redis.url);
    await b.engine.subscribe('down');
    const [p] = await publishAll(a.engine, 'down', ['before']);
    await waitFor(() => b.on('down').length === 1, LONG);
    await redis.stop();
    await waitAvailable(a, false);
    await waitAvailable(b, false);
    const failures = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => a.engine.publish('down', text(`x${i}`), 1)));
    expect(failures.every((f) => f.status === 'rejected' && f.reason instanceof EngineUnavailable)).toBe(true);
    await expect(a.engine.history('down', undefined)).rejects.toBeInstanceOf(EngineUnavailable);
    await expect(a.engine.subscribe('down-2')).rejects.toBeInstanceOf(EngineUnavailable);
    await sleep(300); // several reconnect attempts
    expect(a.availability.filter(([up]) => !up)).toHaveLength(1);
    expect(a.logs.length).toBeLessThan(5);
    redis = await startRedis(port);
    await waitAvailable(a, true);
    await waitAvailable(b, true);
    expect(a.availability.map(([up]) => up)).toEqual([true, false, true]);
    expect(a.availability.at(-1)?.[1]).toBe('redis ready');
    expect(a.logs).toContain('warn redis restarted');
    // Without persistence the stream is gone: a new epoch, the old position is not recovered.
    const h = await a.engine.history('down', { epoch: p!.epoch, offset: p!.offset });
    expect(h.recovered).toBe(false);
    expect(hex(h.epoch)).not.toBe(hex(p!.epoch));
    const q = await a.engine.publish('down', text('after'), 1);
    expect(hex(q.epoch)).not.toBe(hex(p!.epoch));
    await waitFor(() => b.on('down').length === 2, LONG);
    expect(hex(b.on('down')[1]!.epoch)).toBe(hex(q.epoch));
    expect(str(b.on('down')[1]!.publication.frame)).toBe('after');
  });

  it('with appendonly, a graceful restart on the same port keeps epoch and offsets: history recovers exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealsig-redis-aof-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    let redis = await startRedis(undefined, { appendonly: true, dir });
    const port = redis.port;
    onTestFinished(() => redis.stop());
    const a = await node(redis.url);
    const b = await node(redis.url);
    await b.engine.subscribe('aof');
    const r = await publishAll(a.engine, 'aof', ['a0', 'a1', 'a2', 'a3', 'a4']);
    await waitFor(() => b.on('aof').length === 5, LONG);
    await redis.stop(); // SIGTERM: a graceful SHUTDOWN
    await waitAvailable(a, false);
    redis = await startRedis(port, { appendonly: true, dir });
    await waitAvailable(a, true);
    await waitAvailable(b, true);
    const h = await a.engine.history('aof', { epoch: r[1]!.epoch, offset: r[1]!.offset });
    expect(h.recovered).toBe(true);
    expect(hex(h.epoch)).toBe(hex(r[0]!.epoch));
    expect(h.publications.map((p) => p.offset)).toEqual(r.slice(2).map((x) => x.offset));
    expect(h.publications.map((p) => str(p.frame))).toEqual(['a2', 'a3', 'a4']);
    const next = await a.engine.publish('aof', text('a5'), 1);
    expect(hex(next.epoch)).toBe(hex(r[0]!.epoch));
    await waitFor(() => b.on('aof').length === 6, LONG);
    expect(b.on('aof').map((d) => str(d.publication.frame))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    expect(new Set(b.on('aof').map((d) => hex(d.epoch))).size).toBe(1);
  });

  it('start() resolves while Redis is down; the engine becomes available when Redis comes up', async () => {
    const port = await freePort();
    const a = await node(`redis://127.0.0.1:${port}`);
    expect(a.engine.available).toBe(false);
    expect(a.availability).toHaveLength(1);
    expect(a.availability[0]![0]).toBe(false);
    await expect(a.engine.publish('late', text('x'), 1)).rejects.toBeInstanceOf(EngineUnavailable);
    const redis = await startRedis(port);
    onTestFinished(() => redis.stop());
    await waitAvailable(a, true);
    await a.engine.subscribe('late');
    const p = await a.engine.publish('late', text('works'), 4);
    await waitFor(() => a.on('late').length === 1, LONG);
    expect(a.on('late')[0]!.publication).toMatchObject({ offset: p.offset, from: 4 });
  });
});
