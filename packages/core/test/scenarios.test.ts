/**
 * docs/test-vectors/scenarios.json through a real Session: each scenario with a fresh receiver on an injected
 * memory transport, its clock moved only where a step says so (docs/PROTOCOL.md §12).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, fromHex, toHex } from '../src/bytes.js';
import { openBroadcast } from '../src/broadcast.js';
import { FrameKind, decodeFrame } from '../src/envelope.js';
import type { SealsigError } from '../src/errors.js';
import { deriveEpochKeys, deriveSession, inboxTopic } from '../src/kdf.js';
import { createMemoryNetwork } from '../src/memory-transport.js';
import { pairKey } from '../src/pair-tag.js';
import { newHandshake, pairwisePrologue, writeHandshakeFrame } from '../src/pairwise.js';
import { joinSession, type LeaveReason } from '../src/session.js';
import { ed25519KeyPair, ready, x25519KeyPair } from '../src/sodium.js';
import { generateVectors } from '../scripts/vectors.js';
import { waitFor } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const file = new URL('../../../docs/test-vectors/scenarios.json', import.meta.url);
const tick = () => new Promise((r) => setTimeout(r, 5));

beforeAll(async () => {
  await ready();
});

describe('docs/test-vectors/scenarios.json', () => {
  it('is what scripts/vectors.ts generates', () => {
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(generateVectors().scenarios)));
  });

  const v: Json = JSON.parse(readFileSync(file, 'utf8'));
  for (const scenario of v.scenarios as Json[]) {
    it(scenario.name, async () => {
      const p = v.parameters;
      const net = createMemoryNetwork();
      let now: number = v.now;
      const receiver = await joinSession({
        sessionId: v.session_id,
        transport: net.connect(),
        identity: { signing: ed25519KeyPair(fromHex(v.receiver.ed25519_seed)), dh: x25519KeyPair(fromHex(v.receiver.x25519_private)) },
        now: () => now,
        maxAgeMs: p.max_age_ms,
        maxFutureSkewMs: p.max_future_skew_ms,
        peerTimeoutMs: p.peer_timeout_ms,
        helloMaxAgeMs: p.hello_max_age_ms,
        epochGraceMs: p.epoch_grace_ms,
        handshakeRetryMs: p.handshake_retry_ms,
        maxFrameBytes: p.max_frame_bytes,
        maxHeldBytes: p.max_held_bytes,
      });
      expect(toHex(fromBase64Url(receiver.id)!)).toBe(v.receiver.member_id);
      const keys = deriveSession(v.session_id);
      const alice = { id: fromHex(v.alice.member_id), instance: fromHex(v.alice.instance), dh: x25519KeyPair(fromHex(v.alice.x25519_private)) };
      const aliceInbox = inboxTopic(keys.topic, keys.inboxKey, alice.id, alice.instance);
      const errors: string[] = [];
      const events: string[] = [];
      const reasons: LeaveReason[] = [];
      receiver.on('error', (e: SealsigError) => errors.push(e.code));
      for (const type of ['peer-joined', 'message', 'peer-left', 'signal', 'epoch'] as const) receiver.on(type, () => events.push(type));
      receiver.on('peer-left', (e) => reasons.push(e.reason));
      let broadcastKey = deriveEpochKeys(0, keys.roomKey0).broadcastKey;
      const topicName = (t: string) => (t === receiver.topic ? 'session topic' : t === aliceInbox ? 'alice inbox' : t === receiver.inbox ? 'receiver inbox' : t);
      const published = (from: number) =>
        net.log.slice(from).filter((q) => q.from >= 0).map((q) => {
          const f = decodeFrame(q.frame);
          const out: Json = { topic: topicName(q.topic), kind: f.header.kind };
          if (f.header.kind === FrameKind.broadcast) {
            const opened = openBroadcast(f, broadcastKey);
            out.type = opened.type;
            out.want_reply = (opened.payload as unknown[])[2];
          }
          return out;
        });
      for (const step of scenario.steps as Json[]) {
        const before = { errors: errors.length, events: events.length, duplicates: receiver.stats.duplicates, log: net.log.length };
        const name = `${scenario.name}: ${JSON.stringify(step).slice(0, 120)}`;
        if (step.advance_ms !== undefined) {
          now += step.advance_ms;
          const want = step.publishes?.length ?? 0;
          await waitFor(() => errors.length - before.errors >= step.expect_errors.length && events.length - before.events >= step.events.length && published(before.log).length >= want, 5000);
          await tick();
          expect(errors.slice(before.errors), name).toEqual(step.expect_errors);
          expect(events.slice(before.events), name).toEqual(step.events);
          if (step.publishes) expect(published(before.log), name).toEqual(step.publishes);
          continue;
        }
        if (step.expel !== undefined) {
          receiver.expel(Buffer.from(fromHex(step.expel)).toString('base64url'));
        } else if (step.gap !== undefined) {
          net.gap(step.gap === 'session' ? receiver.topic : step.gap === 'inbox' ? receiver.inbox : `${receiver.topic}x`);
        } else if (step.install_epoch !== undefined) {
          receiver.installEpoch(step.install_epoch.epoch, fromHex(step.install_epoch.room_key));
          broadcastKey = deriveEpochKeys(step.install_epoch.epoch, fromHex(step.install_epoch.room_key)).broadcastKey;
        } else {
          let frame: Uint8Array;
          if (step.send === 'init') {
            const bob = { id: fromBase64Url(receiver.id)!, instance: fromBase64Url(receiver.instance)! };
            const bobDh = x25519KeyPair(fromHex(v.receiver.x25519_private)).publicKey;
            const hs = newHandshake({ initiator: true, prologue: pairwisePrologue(keys.routeTag, alice, bob), s: alice.dh, rs: bobDh, psk: deriveEpochKeys(0, keys.roomKey0).psk, e: x25519KeyPair(fromHex(step.ephemeral_private)) });
            const header = { version: 3, suite: 1, kind: FrameKind.handshakeInit, route: keys.routeTag, sender: alice.id, instance: alice.instance, recipient: bob.id, epoch: 0, counter: step.counter, timestamp: now };
            frame = writeHandshakeFrame(hs, header, pairKey(keys.routeTag, alice, alice.dh, bob, bobDh)).frame;
            hs.destroy();
          } else frame = fromHex(step.inject);
          net.inject(step.topic === 'inbox' || step.send === 'init' ? receiver.inbox : receiver.topic, frame);
        }
        await tick();
        const newErrors = errors.slice(before.errors);
        const newEvents = events.slice(before.events);
        if (step.expect === 'E_REPLAY') expect(receiver.stats.duplicates - before.duplicates, name).toBe(1);
        else if (step.expect !== undefined && step.expect !== 'accept' && step.expect !== 'ignore') expect(newErrors, name).toEqual([step.expect]);
        else expect(newErrors, name).toEqual([]);
        expect(newEvents, name).toEqual(step.events ?? []);
        if (step.leave_reason !== undefined) expect(reasons.at(-1), name).toBe(step.leave_reason);
        if (step.publishes !== undefined) expect(published(before.log), name).toEqual(step.publishes);
      }
      await receiver.close();
    });
  }
});
