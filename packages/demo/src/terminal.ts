/**
 * sealsig terminal demo over a real relay: a sealsig relay (@sealsig/relay) runs in this process on a free
 * port; alice and bob connect to it with WebSocket transports and signal a WebRTC connection (offer,
 * answer, trickled candidates, a chat line). A third, raw transport subscribed to the session's route tag
 * shows what the relay carried: the topic, each frame's clear header and its ciphertext.
 *
 *   node --conditions=source --import tsx packages/demo/src/terminal.ts
 */
import { createSessionId, decodeFrame, deriveSession, FrameKind, fromBase64Url, joinSession, ready, toHex, utf8, type Session, type SessionEvents } from '@sealsig/core';
import { createRelay } from '@sealsig/relay';
import { createWebSocketTransport } from '@sealsig/transport-websocket';

const KINDS: Record<number, string> = {
  [FrameKind.broadcast]: 'broadcast',
  [FrameKind.handshakeInit]: 'noise-init',
  [FrameKind.handshakeResp]: 'noise-resp',
  [FrameKind.direct]: 'direct',
};
const hex = (b: Uint8Array, n = b.length) => toHex(b.subarray(0, n));
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);
const bytesOf = utf8;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:EsAw', 'a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y',
  'a=ice-options:trickle', 'a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E',
  'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', 'a=max-message-size:262144', '',
].join('\r\n');
const SDP_ANSWER = SDP_OFFER.replace('4611731400430051336', '8017351940234721590').replace('a=setup:actpass', 'a=setup:active')
  .replace('EsAw', 'q7Rn').replace('0F:74:31:25', '5A:C1:07:9E');
const candidate = (ufrag: string, ip: string) => ({ candidate: `candidate:1467250027 1 udp 2122260223 ${ip} 54400 typ host generation 0 ufrag ${ufrag}`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: ufrag });
const CHAT = { text: 'hi bob, the data channel is coming up' };

async function main(): Promise<void> {
  const relay = createRelay({ host: '127.0.0.1', port: 0 });
  const { port } = await relay.listen();
  const url = `ws://127.0.0.1:${port}/`;
  const transports = [0, 1, 2].map(() => createWebSocketTransport({ urls: [url] }));
  const [ta, tb, observer] = transports as [(typeof transports)[0], (typeof transports)[0], (typeof transports)[0]];
  try {
    const sessionId = createSessionId(); // the secret capability: share it out of band (a link, a QR code)
    const wire: { topic: string; frame: Uint8Array }[] = [];
    await ready(); // libsodium, for deriveSession
    const { topic } = deriveSession(sessionId); // the route tag both peers will use
    // The relay's view: a raw transport on the route tag sees every frame either peer publishes.
    await observer.subscribe(topic, (frame) => wire.push({ topic, frame }));

    const alice = await joinSession({ sessionId, transport: ta });
    const bob = await joinSession({ sessionId, transport: tb });
    for (const s of [alice, bob]) s.on('error', (e) => console.log(`  ! ${e.code}: ${e.message}`));
    const names = new Map([[hex(fromBase64Url(alice.id)!), 'alice'], [hex(fromBase64Url(bob.id)!), 'bob']]);
    const who = (id: Uint8Array | null) => (id === null ? '*(all)' : `${hex(id, 4)}(${names.get(hex(id)) ?? '?'})`);

    console.log(`sealsig demo: alice and bob signal WebRTC through a real sealsig relay at ${url}`);
    console.log('(the offer, answer and candidates are fixed sample values: Node has no RTCPeerConnection; `pnpm start` negotiates for real)\n');
    console.log(`session id (secret, never sent):  ${sessionId}`);
    console.log(`relay topic (keyed route tag):    ${alice.topic}`);
    console.log('\nFor each message: "sent" is what the app handed to sealsig; "relay" is each frame the relay');
    console.log('carried on the topic (clear header: kind, size, sender -> recipient, counter), then the first');
    console.log('bytes of its ciphertext. Names in () are for you; the relay sees only keyed ids.');

    let shown = 0;
    const published = () => alice.stats.framesOut + bob.stats.framesOut;
    async function step(title: string, sent: unknown, run: () => Promise<unknown>): Promise<void> {
      console.log(`\n== ${title}`);
      const text = typeof sent === 'string' ? sent : JSON.stringify(sent);
      console.log(`  sent   ${clip(text, 80)}${typeof sent === 'string' ? '' : `  (${text.length} B)`}`);
      await run();
      for (let t = 0; wire.length < published() && t < 200; t++) await sleep(5); // the observer's copies
      for (; shown < wire.length; shown++) {
        const { frame } = wire[shown]!;
        const { header: h, body } = decodeFrame(frame);
        console.log(`  relay  ${(KINDS[h.kind] ?? '?').padEnd(10)} ${String(frame.length).padStart(4)} B  topic ${topic.slice(0, 8)}..  ` +
          `${who(h.sender)} -> ${who(h.recipient)}  ctr ${h.counter}`);
        console.log(`         ciphertext ${body.length} B: ${hex(body, 28)}...`);
      }
    }

    await step('join: alice and bob announce themselves (sealed, signed hellos)', '(hello: Ed25519 + X25519 public keys)', async () => {
      for (let t = 0; alice.peers.length === 0 || bob.peers.length === 0; t++) {
        if (t === 1000) throw new Error('alice and bob never met');
        await sleep(5);
      }
    });
    const offer = { type: 'offer' as const, sdp: SDP_OFFER };
    await step('alice -> bob: offer (Noise KKpsk0 handshake, then the sealed offer)', offer, async () => {
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
    for (const [from, to, name, ufrag, ip] of [[alice, bob, 'alice -> bob', 'EsAw', '192.168.1.23'], [bob, alice, 'bob -> alice', 'q7Rn', '10.0.0.42']] as const) {
      for (const c of [candidate(ufrag, ip), null]) {
        await step(`${name}: ICE candidate${c === null ? ' (null: end of candidates)' : ''}`, c, async () => {
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
      console.log(`  bob saw peer-left alice (${(await left).reason})`);
      await bob.close();
    });

    const secrets = [bytesOf(sessionId), fromBase64Url(sessionId)!];
    const plaintexts = [SDP_OFFER, SDP_ANSWER, '192.168.1.23', '10.0.0.42', 'a=fingerprint', CHAT.text].map(bytesOf);
    const leaked = (needles: Uint8Array[]) => wire.some((p) => needles.some((n) => contains(p.frame, n)));
    console.log('\n== what the relay carried');
    console.log(`  frames: ${wire.length}, all on topic ${topic}`);
    console.log(`  session id seen on the wire: ${leaked(secrets) || topic.includes(sessionId) ? 'YES (bug!)' : 'no'}`);
    console.log(`  SDP, candidate addresses or chat text seen on the wire: ${leaked(plaintexts) ? 'YES (bug!)' : 'no'}`);
    console.log('  the relay learns: the route tag, frame kinds and padded sizes, timing and who talks to whom by');
    console.log('  keyed ids; never the session id, SDP, candidates, keys or content.');
    if (leaked(secrets) || leaked(plaintexts)) process.exitCode = 1;
  } finally {
    await Promise.all(transports.map((t) => t.close()));
    await relay.close();
  }
}

const guard = setTimeout(() => (console.error('demo timed out'), process.exit(1)), 30_000);
guard.unref();
main().then(
  () => clearTimeout(guard),
  (e: unknown) => {
    console.error('demo failed:', e);
    process.exitCode = 1;
    clearTimeout(guard);
  },
);
