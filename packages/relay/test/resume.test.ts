/**
 * PROTOCOL-RELAY.md v2 §3.2-§3.4 and §5 against a real relay (memory engine): cumulative ACKs, resuming a
 * subscription from a position, gaps when the position cannot be honoured (trimmed, another epoch, a
 * restarted relay), and a graceful stop that refuses new PUBLISHes but loses nothing it acknowledged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay, RelayOptions } from '../src/index.js';
import { ErrorCode } from '../src/protocol.js';
import { connect, startRelay, text, waitFor, type TestClient } from './helpers.js';

const TOPIC = 'AAAAAAAAAAAAAAAAAAAAAA';
const frames = (c: TestClient) => c.delivered(TOPIC).map((f) => Buffer.from(f).toString());

let relays: Relay[] = [];
let clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  clients = [];
});

async function setup(options: RelayOptions = {}, port = 0) {
  const r = await startRelay({ port, ...options });
  relays.push(r.relay);
  const open = async () => {
    const c = await connect(r.url);
    clients.push(c);
    return c;
  };
  return { ...r, open };
}

describe('acknowledgements (§3.2)', () => {
  it('acknowledges every PUBLISH cumulatively, in far fewer ACKs than frames', async () => {
    const { open } = await setup({ rateLimit: { frames: { perSecond: 10_000, burst: 10_000 } } });
    const a = await open();
    for (let i = 0; i < 500; i++) a.publish(TOPIC, text(`f${i}`));
    await waitFor(() => a.acked() === 500);
    const acks = a.received.filter((m) => m.kind === 'ack').length;
    expect(acks).toBeLessThanOrEqual(500 / 32 + 2);
    expect(a.nacks()).toEqual([]);
  });
});

describe('resuming a subscription (§3.4)', () => {
  it('from its last position: exactly the frames it missed, RECOVERED, in order', async () => {
    const { open } = await setup();
    const pub = await open();
    let sub = await open();
    expect(await sub.subscribe(TOPIC)).toBe(false); // a first subscription has nothing to recover
    for (let i = 0; i < 5; i++) pub.publish(TOPIC, text(`a${i}`));
    await waitFor(() => frames(sub).length === 5);
    const at = sub.position(TOPIC)!;
    await sub.close();
    for (let i = 0; i < 7; i++) pub.publish(TOPIC, text(`b${i}`));
    await waitFor(() => pub.acked() === 12);
    sub = await open();
    expect(await sub.subscribe(TOPIC, at)).toBe(true);
    pub.publish(TOPIC, text('live'));
    await waitFor(() => frames(sub).includes('live'));
    expect(frames(sub)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'live']);
  });

  it('says it cannot (no RECOVERED) when frames after the position were trimmed, and replays the recent window', async () => {
    const { open } = await setup({ retention: { maxFrames: 3 } });
    const pub = await open();
    let sub = await open();
    await sub.subscribe(TOPIC);
    pub.publish(TOPIC, text('seen'));
    await waitFor(() => frames(sub).length === 1);
    const at = sub.position(TOPIC)!;
    await sub.close();
    for (let i = 0; i < 6; i++) pub.publish(TOPIC, text(`m${i}`));
    await waitFor(() => pub.acked() === 7);
    sub = await open();
    expect(await sub.subscribe(TOPIC, at)).toBe(false);
    await waitFor(() => frames(sub).length === 3);
    expect(frames(sub)).toEqual(['m3', 'm4', 'm5']);
  });

  it('says it cannot for a position of another epoch: a restarted relay', async () => {
    const first = await setup();
    const pub = await first.open();
    const sub = await first.open();
    await sub.subscribe(TOPIC);
    pub.publish(TOPIC, text('before'));
    await waitFor(() => frames(sub).length === 1);
    const at = sub.position(TOPIC)!;
    const port = Number(new URL(first.url).port);
    await Promise.all([pub.close(), sub.close()]);
    await first.relay.close();
    const second = await setup({}, port);
    const again = await second.open();
    expect(await again.subscribe(TOPIC, at)).toBe(false);
    const received = again.received.find((m) => m.kind === 'subscribed');
    expect(received?.kind === 'subscribed' && Buffer.from(received.head.epoch).equals(Buffer.from(at.epoch))).toBe(false);
  });

  it('a repeated SUBSCRIBE starts again from the position it names (nothing replayed twice)', async () => {
    const { open } = await setup();
    const pub = await open();
    pub.publish(TOPIC, text('retained'));
    await waitFor(() => pub.acked() === 1);
    const sub = await open();
    await sub.subscribe(TOPIC);
    await waitFor(() => frames(sub).length === 1);
    expect(await sub.subscribe(TOPIC, sub.position(TOPIC))).toBe(true);
    pub.publish(TOPIC, text('next'));
    await waitFor(() => frames(sub).length === 2);
    expect(frames(sub)).toEqual(['retained', 'next']);
    // SUBSCRIBED names the stream's head (here: 'retained'), from which a client that has received nothing resumes.
    const answer = sub.received.filter((m) => m.kind === 'subscribed').at(-1);
    const retained = sub.received.find((m) => m.kind === 'deliver');
    expect(answer?.kind === 'subscribed' && retained?.kind === 'deliver' && answer.head.offset).toEqual(retained?.kind === 'deliver' && retained.position.offset);
  });
});

describe("a subscription's epoch (§3.2)", () => {
  it("is SUBSCRIBED's head epoch before any DELIVER: an empty topic's first frame comes in it, and the head resumes", async () => {
    const { open } = await setup();
    const sub = await open();
    await sub.subscribe(TOPIC);
    const answer = sub.received.find((m) => m.kind === 'subscribed');
    if (answer?.kind !== 'subscribed') throw new Error('no SUBSCRIBED');
    const pub = await open();
    pub.publish(TOPIC, text('first'));
    await waitFor(() => frames(sub).length === 1);
    expect(Buffer.from(sub.position(TOPIC)!.epoch)).toEqual(Buffer.from(answer.head.epoch));
    // A client that received nothing resumes from the head without a gap, and gets the frame.
    const late = await open();
    expect(await late.subscribe(TOPIC, answer.head)).toBe(true);
    await waitFor(() => frames(late).length === 1);
  });
});

describe('graceful stop (§5)', () => {
  it('refuses PUBLISH with NACK 7 while draining, after delivering and acknowledging what it accepted', async () => {
    const { open, relay, http } = await setup({ drainDelayMs: 300, rateLimit: { frames: { perSecond: 10_000, burst: 10_000 } } });
    const pub = await open();
    const sub = await open();
    await sub.subscribe(TOPIC);
    for (let i = 0; i < 200; i++) pub.publish(TOPIC, text(`f${i}`));
    await waitFor(() => pub.acked() === 200);
    const closing = relay.close();
    const health = await fetch(`${http}/healthz`);
    expect(health.status).toBe(503);
    pub.publish(TOPIC, text('too late'));
    await waitFor(() => pub.nacks().length === 1);
    expect(pub.nacks()).toEqual([{ seq: 201, code: ErrorCode.unavailable }]);
    expect((await sub.closed).code).toBe(1012);
    await closing;
    expect(frames(sub)).toEqual(Array.from({ length: 200 }, (_, i) => `f${i}`));
  });
});
