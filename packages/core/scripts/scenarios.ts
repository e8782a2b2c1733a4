/**
 * scenarios.json (docs/PROTOCOL.md §12): short scenarios, each run by a fresh receiver, for the rules whose
 * outcome needs the receiver to act (expel, a gap, a new epoch) or time to pass while frames arrive: the
 * hold buffer's bounds (§8.3), expelled senders (§8.5), gaps (§8.6), the epoch grace (§9) and the init
 * budget with its deferred inits (§7.7). Generated with the fixed keys of vectors.ts; run by
 * packages/core/test/scenarios.test.ts through a real Session.
 */
import { toHex } from '../src/bytes.js';
import { BroadcastType, sealBroadcast } from '../src/broadcast.js';
import { FrameKind, PROTOCOL_VERSION, SUITE_V1, type Header } from '../src/envelope.js';
import { deriveEpochKeys, deriveSession, memberIdOf } from '../src/kdf.js';
import { ed25519KeyPair, x25519KeyPair, type KeyPair } from '../src/sodium.js';

interface Who {
  name: string;
  signing: KeyPair;
  dh: KeyPair;
  id: Uint8Array;
  instance: Uint8Array;
}

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);

export interface ScenarioInputs {
  sessionId: string;
  now: number;
  receiver: { signingSeed: Uint8Array; dhPrivate: Uint8Array };
  alice: { signingSeed: Uint8Array; dhPrivate: Uint8Array; instance: Uint8Array };
  dave: { signingSeed: Uint8Array; dhPrivate: Uint8Array; instance: Uint8Array };
  nonce: Uint8Array;
  parameters: Record<string, number>;
}

export function scenarioVectors(v: ScenarioInputs): Record<string, unknown> {
  const s = deriveSession(v.sessionId);
  const epoch0 = deriveEpochKeys(0, s.roomKey0);
  const roomKey1 = fill(32, 0xe1);
  const epoch1 = deriveEpochKeys(1, roomKey1);
  const who = (name: string, seed: Uint8Array, dhPrivate: Uint8Array, instance: Uint8Array): Who => {
    const signing = ed25519KeyPair(seed);
    return { name, signing, dh: x25519KeyPair(dhPrivate), id: memberIdOf(s.memberIdKey, signing.publicKey), instance };
  };
  const alice = who('alice', v.alice.signingSeed, v.alice.dhPrivate, v.alice.instance);
  const dave = who('dave', v.dave.signingSeed, v.dave.dhPrivate, v.dave.instance);
  const receiverId = memberIdOf(s.memberIdKey, ed25519KeyPair(v.receiver.signingSeed).publicKey);
  const header = (from: Who, counter: number, dt = 0, epoch = 0, instance = from.instance): Header => ({
    version: PROTOCOL_VERSION, suite: SUITE_V1, kind: FrameKind.broadcast, route: s.routeTag, sender: from.id, instance, recipient: null, epoch, counter, timestamp: v.now + dt,
  });
  const seal = (from: Who, h: Header, type: number, payload: unknown, key = epoch0.broadcastKey) =>
    toHex(sealBroadcast({ header: h, key, signingKey: from.signing.privateKey, type, payload, nonce: v.nonce }));
  const hello = (from: Who, counter: number, wantReply = false, dt = 0, instance = from.instance) =>
    seal(from, header(from, counter, dt, 0, instance), BroadcastType.hello, [from.signing.publicKey, from.dh.publicKey, wantReply, null, null]);
  const app = (from: Who, counter: number, value: unknown, dt = 0, epoch = 0) =>
    seal(from, header(from, counter, dt, epoch), BroadcastType.app, value, epoch === 0 ? epoch0.broadcastKey : epoch1.broadcastKey);
  const accept = (frame: string, extra: Record<string, unknown> = {}) => ({ inject: frame, topic: 'session', expect: 'accept', ...extra });
  const aliceJoins = accept(hello(alice, 0), { events: ['peer-joined'] });
  const session = 'session topic';

  // 64 fabricated members for the sender bound of the hold buffer.
  const crowd = Array.from({ length: 65 }, (_, i) => who(`member ${i}`, fill(32, 0x10 + i), fill(32, 0x60 + i), fill(8, 0x10 + i)));

  const scenarios = [
    {
      name: 'hold buffer: at most 16 frames per sender instance before its hello (§8.3)',
      steps: [
        ...Array.from({ length: 16 }, (_, i) => ({ inject: app(dave, i, `early ${i}`), topic: 'session', expect: 'ignore' })),
        { inject: app(dave, 16, 'one too many'), topic: 'session', expect: 'E_UNKNOWN_SENDER' },
        accept(hello(dave, 17), { events: ['peer-joined', ...Array(16).fill('message')] }),
      ],
    },
    {
      name: 'hold buffer: at most 64 sender instances before their hellos (§8.3)',
      steps: crowd.map((m, i) => ({ inject: app(m, 0, 'early'), topic: 'session', expect: i < 64 ? 'ignore' : 'E_UNKNOWN_SENDER' })),
    },
    {
      name: 'an expelled member (§8.5): its frames from any instance are refused',
      steps: [
        aliceJoins,
        { expel: toHex(alice.id), events: ['peer-left'], leave_reason: 'expelled' },
        { inject: app(alice, 1, 'still here'), topic: 'session', expect: 'E_UNKNOWN_SENDER' },
        { inject: hello(alice, 0, true, 1, fill(8, 0xa9)), topic: 'session', expect: 'E_UNKNOWN_SENDER' },
      ],
    },
    {
      name: 'gaps (§8.6): a gap on the session topic or the inbox makes the receiver ask every member again; on another topic, nothing',
      steps: [
        aliceJoins,
        { gap: 'session', publishes: [{ topic: session, kind: FrameKind.broadcast, type: BroadcastType.hello, want_reply: true }] },
        { gap: 'other', publishes: [] },
        { gap: 'inbox', publishes: [{ topic: session, kind: FrameKind.broadcast, type: BroadcastType.hello, want_reply: true }] },
      ],
    },
    {
      name: 'the epoch grace (§9): a superseded epoch is accepted for less than 10,000 ms after the next is installed',
      steps: [
        aliceJoins,
        { install_epoch: { epoch: 1, room_key: toHex(roomKey1) }, events: ['epoch'] },
        accept(app(alice, 1, 'epoch 0, at once'), { events: ['message'] }),
        { advance_ms: 9_999, expect_errors: [], events: [] },
        accept(app(alice, 2, 'epoch 0, 9,999 ms later', 9_999), { events: ['message'] }),
        { advance_ms: 1, expect_errors: [], events: [] },
        { inject: app(alice, 3, 'epoch 0, 10,000 ms later', 10_000), topic: 'session', expect: 'E_EPOCH' },
        accept(app(alice, 4, 'epoch 1', 10_000, 1), { events: ['message'] }),
      ],
    },
    {
      name: 'the init budget (§7.7): 4 inits of a member at once, then one per second; the rest deferred, 4 at most',
      steps: [
        aliceJoins,
        ...Array.from({ length: 4 }, (_, i) => ({ send: 'init', ephemeral_private: toHex(fill(32, 0x30 + i)), counter: i, expect: 'accept', publishes: [{ topic: 'alice inbox', kind: FrameKind.handshakeResp }] })),
        ...Array.from({ length: 4 }, (_, i) => ({ send: 'init', ephemeral_private: toHex(fill(32, 0x40 + i)), counter: 4 + i, expect: 'ignore', publishes: [] })),
        { send: 'init', ephemeral_private: toHex(fill(32, 0x50)), counter: 8, expect: 'E_RATE_LIMITED', publishes: [] },
        { advance_ms: 1_000, expect_errors: [], events: [], publishes: [{ topic: 'alice inbox', kind: FrameKind.handshakeResp }] },
      ],
    },
  ];

  return {
    description:
      'Scenarios, each run by a fresh receiver (the member below, keys fixed, instance random) of the session, clock at now ' +
      'until a step advances it, with the parameters below. Steps, in order: "inject" a frame (hex) on a topic, expecting ' +
      '"accept" (events: what the app sees, in order), "ignore" (dropped or held without an error) or an error code (E_REPLAY is ' +
      'only counted); "advance_ms": the clock moves on and the receiver runs its timers (expect_errors, events and publishes: ' +
      'what they cause); "expel": the receiver expels the member id (hex, §8.5; the app sees peer-left with reason ' +
      'leave_reason); "gap": the transport signals a gap on the session topic, the receiver\'s inbox, or another topic (§8.6); ' +
      '"install_epoch": the receiver installs the epoch with the given room key (§9; the app sees "epoch"); "send": "init": ' +
      'alice writes a handshake init (§7.2, with its pair tag) to the receiver\'s instance with her keys, the given ephemeral ' +
      'and counter, timestamp now and epoch 0 (made at run time: the pair key and the prologue name the receiver\'s random ' +
      'instance). publishes: what the receiver publishes, each with its topic ("session topic", "alice inbox"), kind and, for ' +
      'a hello, want_reply. Every broadcast uses the nonce of broadcast.json. The deferred inits of the init budget scenario are ' +
      'kept 4 at most, a fifth replacing a random one (E_RATE_LIMITED); which one is read after the clock moves is random, but ' +
      'exactly one is read (one token) and answered.',
    session_id: v.sessionId,
    now: v.now,
    parameters: v.parameters,
    receiver: { ed25519_seed: toHex(v.receiver.signingSeed), x25519_private: toHex(v.receiver.dhPrivate), member_id: toHex(receiverId) },
    alice: { ed25519_seed: toHex(v.alice.signingSeed), x25519_private: toHex(alice.dh.privateKey), member_id: toHex(alice.id), instance: toHex(alice.instance) },
    scenarios,
  };
}
