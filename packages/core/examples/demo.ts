/**
 * sealsig terminal demo: alice and bob signal a WebRTC connection through a relay that records every
 * frame it carries (an in-memory network). For each message it prints what the app sent, then what the
 * relay saw: the topic (a route tag), the clear header fields, and the sealed body.
 *
 *   pnpm start        (or: node --import tsx packages/core/examples/demo.ts)
 */
import {
  createMemoryNetwork,
  createSessionId,
  decodeFrame,
  FrameKind,
  fromBase64Url,
  joinSession,
  type Packet,
  type Session,
  type SessionEvents,
} from '../src/index.js';

const KINDS: Record<number, string> = {
  [FrameKind.broadcast]: 'broadcast',
  [FrameKind.handshakeInit]: 'noise-init',
  [FrameKind.handshakeResp]: 'noise-resp',
  [FrameKind.direct]: 'direct',
};
const hex = (b: Uint8Array, n = b.length) => [...b.subarray(0, n)].map((x) => x.toString(16).padStart(2, '0')).join('');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);
const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const bytesOf = (s: string) => new TextEncoder().encode(s);
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Resolves with the next event of that type, or rejects after `ms` (so the demo never hangs). */
function next<K extends keyof SessionEvents>(s: Session, type: K, ms = 5000): Promise<SessionEvents[K]> {
  return new Promise((resolve, reject) => {
    const off = s.once(type, (e) => (clearTimeout(timer), resolve(e)));
    const timer = setTimeout(() => (off(), reject(new Error(`timed out waiting for '${String(type)}'`))), ms);
  });
}

const SDP_OFFER = [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'a=extmap-allow-mixed', 'a=msid-semantic: WMS', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0', 'a=ice-ufrag:EsAw', 'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y', 'a=ice-options:trickle',
  'a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E',
  'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', 'a=max-message-size:262144', '',
].join('\r\n');
const SDP_ANSWER = SDP_OFFER.replace('4611731400430051336', '8017351940234721590').replace('a=setup:actpass', 'a=setup:active')
  .replace('EsAw', 'q7Rn').replace('0F:74:31:25', '5A:C1:07:9E');
/** Two trickled candidates, as RTCPeerConnection's icecandidate event gives them: host, then server-reflexive. */
const candidates = (ufrag: string, lan: string, wan: string) =>
  [
    `candidate:1467250027 1 udp 2122260223 ${lan} 54400 typ host generation 0 ufrag ${ufrag}`,
    `candidate:842163049 1 udp 1686052607 ${wan} 54400 typ srflx raddr ${lan} rport 54400 generation 0 ufrag ${ufrag}`,
  ].map((candidate) => ({ candidate, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: ufrag }));
const CHAT = { text: 'hi bob, the data channel is coming up' };

async function main(): Promise<void> {
  const net = createMemoryNetwork();
  const sessionId = createSessionId(); // the secret capability: share it out of band (a link, a QR code)
  const alice = await joinSession({ sessionId, transport: net.connect() });
  const bob = await joinSession({ sessionId, transport: net.connect() });
  for (const s of [alice, bob]) s.on('error', (e) => console.log(`  ! ${e.code}: ${e.message}`));
  const names = new Map([[hex(fromBase64Url(alice.id)!), 'alice'], [hex(fromBase64Url(bob.id)!), 'bob']]);
  const who = (id: Uint8Array | null) => (id === null ? '*(all)' : `${hex(id, 4)}(${names.get(hex(id)) ?? '?'})`);

  console.log('sealsig demo: alice and bob signal a WebRTC connection through an untrusted relay\n');
  console.log(`session id (secret, never sent):  ${sessionId}`);
  console.log(`relay topic (keyed route tag):    ${alice.topic}`);
  console.log(`member ids (keyed hashes):        alice ${alice.id.slice(0, 11)}...  bob ${bob.id.slice(0, 11)}...`);
  console.log('\nFor each message: "sent" is what the app handed to sealsig; "wire" is each frame the relay');
  console.log('carried (clear header: kind, size, topic, sender -> recipient, counter, timestamp), then the');
  console.log('first bytes of its sealed body. Peer names in () are for you; the relay sees only the ids.');

  let shown = 0;
  const print = (p: Packet) => {
    const { header: h, body } = decodeFrame(p.frame);
    console.log(`  wire #${String(p.seq).padEnd(2)} ${(KINDS[h.kind] ?? '?').padEnd(10)} ${String(p.frame.length).padStart(4)} B  ` +
      `topic ${p.topic.slice(0, 7)}..  ${who(h.sender)} -> ${who(h.recipient)}  ctr ${h.counter} ${time(h.timestamp)}`);
    const label = h.kind === FrameKind.broadcast || h.kind === FrameKind.direct ? 'sealed body' : 'ephemeral key + sealed';
    console.log(`          ${label} ${body.length} B: ${hex(body, 24)}...`);
  };
  async function step(title: string, sent: unknown, run: () => Promise<unknown>): Promise<void> {
    console.log(`\n== ${title}`);
    const text = typeof sent === 'string' ? sent : JSON.stringify(sent);
    console.log(`  sent     ${clip(text, 78)}${typeof sent === 'string' ? '' : `  (${text.length} B)`}`);
    await run();
    await net.settle();
    for (; shown < net.log.length; shown++) print(net.log[shown]!);
  }

  await step('join: alice and bob announce themselves (sealed, signed hellos)', '(hello: Ed25519 + X25519 public keys)', async () => {
    for (let t = 0; alice.peers.length === 0 || bob.peers.length === 0; t++) {
      if (t === 5000) throw new Error('alice and bob never met');
      await new Promise((r) => setTimeout(r, 1));
    }
  });
  const offer = { type: 'offer' as const, sdp: SDP_OFFER };
  await step('alice -> bob: offer (first message to bob: Noise KKpsk0 handshake, key confirmation, offer)', offer, async () => {
    const got = next(bob, 'signal');
    await alice.sendDescription(bob.id, offer);
    if ((await got).description?.sdp !== SDP_OFFER) throw new Error('bob got a different offer');
  });
  const answer = { type: 'answer' as const, sdp: SDP_ANSWER };
  await step('bob -> alice: answer', answer, async () => {
    const got = next(alice, 'signal');
    await bob.sendDescription(alice.id, answer);
    await got;
  });
  const trickle: [Session, Session, string, string, string, string][] = [
    [alice, bob, 'alice', 'bob', '192.168.1.23', '203.0.113.7'],
    [bob, alice, 'bob', 'alice', '10.0.0.42', '198.51.100.20'],
  ];
  for (const [from, to, fromName, toName, lan, wan] of trickle) {
    for (const c of [...candidates(fromName === 'alice' ? 'EsAw' : 'q7Rn', lan, wan), null]) {
      await step(`${fromName} -> ${toName}: ICE candidate${c === null ? ' (null: end of candidates)' : ''}`, c, async () => {
        const got = next(to, 'signal');
        await from.sendCandidate(to.id, c);
        await got;
      });
    }
  }
  await step('alice -> everyone: chat line (broadcast: room key + signature)', CHAT, async () => {
    const got = next(bob, 'message');
    await alice.broadcast(CHAT);
    await got;
  });
  await step('alice leaves (signed bye), then bob', '(bye)', async () => {
    const left = next(bob, 'peer-left');
    await alice.close();
    console.log(`  bob saw  peer-left alice (${(await left).reason})`);
    await bob.close();
  });

  // What a relay operator (or anyone reading its logs) could grep for.
  const secrets = [bytesOf(sessionId), fromBase64Url(sessionId)!];
  const plaintexts = [SDP_OFFER, SDP_ANSWER, '203.0.113.7', '198.51.100.20', 'a=fingerprint', CHAT.text].map(bytesOf);
  const onWire = (needles: Uint8Array[], topicToo: boolean) =>
    net.log.some((p) => needles.some((n) => contains(p.frame, n)) || (topicToo && p.topic.includes(sessionId)));
  const kinds = new Map<string, number>();
  for (const p of net.log) {
    const k = KINDS[decodeFrame(p.frame).header.kind] ?? '?';
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  console.log('\n== what the relay carried');
  console.log(`  frames: ${net.log.length} (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), all on one topic: ` +
    `${net.log.every((p) => p.topic === alice.topic) ? 'yes' : 'NO'}`);
  console.log(`  session id seen on the wire: ${onWire(secrets, true) ? 'YES (bug!)' : 'no'}`);
  console.log(`  SDP, candidate addresses or chat text seen on the wire: ${onWire(plaintexts, false) ? 'YES (bug!)' : 'no'}`);
  console.log('  the relay learns: the route tag, frame kinds and padded sizes, timing, per-session member ids');
  console.log('  and who talks to whom by those ids; never the session id, SDP, candidates, keys or content.');
  if (onWire(secrets, true) || onWire(plaintexts, false)) process.exitCode = 1;
}

const guard = setTimeout(() => (console.error('demo timed out'), process.exit(1)), 20_000);
guard.unref();
main().then(
  () => clearTimeout(guard),
  (e: unknown) => {
    console.error('demo failed:', e);
    process.exitCode = 1;
    clearTimeout(guard);
  },
);
