/**
 * End to end with @sealsig/core (docs/PROTOCOL.md §7-§8): two sessions over two instances of the adapter
 * exchange a sealed offer, answer and ICE candidates; then a third, raw instance plays the hostile relay
 * (§2): it republishes a tampered copy of a captured frame (rejected: E_AUTH_FAILED) and an identical copy
 * (dropped as a duplicate, §8.2), and the session still carries messages afterwards.
 */
import { FrameKind, createSessionId, equalBytes, decodeFrame, encodeFrame, encodeHeader, fromBase64Url, joinSession } from '@sealsig/core';
import type { IceCandidate, Session, SessionDescription, SessionEvents } from '@sealsig/core';
import type { ConformanceOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ConformanceError, Inbox, check, sleep, waitUntil, withTransports } from './helpers.js';

/** Resolves with the first `type` event of `session` that satisfies `match`, or fails after timeoutMs. */
export function nextEvent<K extends keyof SessionEvents>(
  session: Session,
  type: K,
  timeoutMs: number,
  match: (e: SessionEvents[K]) => boolean = () => true,
): Promise<SessionEvents[K]> {
  const event = new Promise<SessionEvents[K]>((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new ConformanceError(`timed out after ${timeoutMs} ms waiting for a '${String(type)}' event`))), timeoutMs);
    const off = session.on(type, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
  // Armed before the action that triggers it: if that action fails first, this promise is never awaited,
  // and its timeout must not surface as an unhandled rejection.
  event.catch(() => undefined);
  return event;
}

const OFFER: SessionDescription = { type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const ANSWER: SessionDescription = { type: 'answer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const CANDIDATE: IceCandidate = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 };

/** Two core sessions over two instances of the adapter exchange an offer, answer and ICE candidates; tampered and duplicated frames republished by a third instance are dropped. */
export async function checkSessionEndToEnd(options: ConformanceOptions): Promise<void> {
  const o = resolveOptions(options);
  const wait = o.deliveryTimeoutMs * 2;
  await withTransports(o, 3, async ([ta, tb, relay]) => {
    const sessionId = createSessionId();
    const a = await joinSession({ sessionId, transport: ta! });
    const b = await joinSession({ sessionId, transport: tb! });
    try {
      // Generous: a hello lost to a subscription that was not live yet comes again with the next heartbeat.
      await waitUntil(() => a.peers.length === 1 && b.peers.length === 1, Math.max(wait, 15_000), 'the two sessions see each other (hello exchange)');

      // Offer, answer and candidates, sealed over pairwise channels.
      let got = nextEvent(b, 'signal', wait, (e) => e.description !== undefined);
      await a.sendDescription(b.id, OFFER);
      let signal = await got;
      check(signal.from.id === a.id && signal.description?.type === 'offer' && signal.description.sdp === OFFER.sdp, 'the offer arrived altered');
      got = nextEvent(a, 'signal', wait, (e) => e.description !== undefined);
      await b.sendDescription(a.id, ANSWER);
      signal = await got;
      check(signal.from.id === b.id && signal.description?.type === 'answer' && signal.description.sdp === ANSWER.sdp, 'the answer arrived altered');
      got = nextEvent(b, 'signal', wait, (e) => e.candidate !== undefined);
      await a.sendCandidate(b.id, CANDIDATE);
      signal = await got;
      check(signal.candidate?.candidate === CANDIDATE.candidate, 'the ICE candidate arrived altered');
      got = nextEvent(a, 'signal', wait, (e) => e.candidate !== undefined);
      await b.sendCandidate(a.id, null);
      signal = await got;
      check(signal.candidate === null, 'the end-of-candidates signal arrived altered');

      // The raw instance subscribes to where a's direct frames to b travel, and captures the next one:
      // b's inbox topic (core protocol v2, §3.6), or the session topic where sessions have no inbox.
      const route = b.inbox;
      const captured = new Inbox();
      await relay!.subscribe(route, captured.handler);
      const aId = fromBase64Url(a.id)!;
      const isDirectFromA = (f: Uint8Array) => {
        try {
          const { header } = decodeFrame(f, Number.MAX_SAFE_INTEGER);
          return header.kind === FrameKind.direct && equalBytes(header.sender, aId);
        } catch {
          return false;
        }
      };
      const messages: unknown[] = [];
      b.on('message', (m) => messages.push(m.value));
      await a.send(b.id, 'one');
      await waitUntil(() => messages.length === 1 && captured.frames.some(isDirectFromA), wait, 'b received a message and the raw instance captured its frame');
      const frame = captured.frames.find(isDirectFromA)!;

      // (a) Tampered: one bit of the AEAD tag (the last 16 bytes) flipped. A copy with the original counter
      // would be dropped as a replay before decryption (§8.2), so the counter is moved forward too: the
      // frame is new to the replay window and must fail authentication.
      const authFailed = nextEvent(b, 'error', wait, (e) => e.code === 'E_AUTH_FAILED');
      await relay!.publish(route, tamper(frame));
      await authFailed;

      // (b) Identical: dropped silently as a duplicate, not delivered twice.
      const duplicates = b.stats.duplicates;
      await relay!.publish(route, frame.slice());
      await waitUntil(() => b.stats.duplicates > duplicates, wait, 'b counted the republished frame in stats.duplicates');
      await sleep(o.quietMs);
      check(messages.length === 1, `the republished frame was delivered again (${messages.length} messages)`);

      // The session still carries messages.
      await a.send(b.id, 'two');
      await waitUntil(() => messages.length === 2, wait, 'b receives a message after the attacks');
      check(messages[1] === 'two', 'the message after the attacks arrived altered');
      const three = nextEvent(a, 'message', wait, (m) => m.value === 'three');
      await b.send(a.id, 'three');
      await three;
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });
}

/** The captured frame with its counter moved forward and one bit of its tag flipped. */
function tamper(frame: Uint8Array): Uint8Array {
  const { header, body } = decodeFrame(frame, Number.MAX_SAFE_INTEGER);
  const forged = encodeFrame(encodeHeader({ ...header, counter: header.counter + 1000 }), body.slice());
  forged[forged.length - 1 - (frame[5]! % 16)]! ^= 0x01;
  return forged;
}

