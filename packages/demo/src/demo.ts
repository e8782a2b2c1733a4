/**
 * The sealsig browser demo: two tabs of this page negotiate a real RTCPeerConnection (a data-channel chat,
 * and a camera when the user asks) through a sealsig relay, with every offer, answer and candidate sealed
 * by @sealsig/core. The page shows side by side what it sent, what it received, and what the relay saw:
 * the route tag (topic) and the ciphertext frames, observed by a second, raw transport subscribed to the
 * session topic and this tab's inbox.
 *
 * The session id lives in the URL fragment (#...), which browsers never send to a server. The page also
 * holds a moderated, password-protected room (room-demo.ts); a page opened with #invite=... shows only that.
 * Bundled by build.ts; served by serve.ts.
 */
import { createSessionId, toHex, fromBase64Url, joinSession, type Session, type SessionEvents } from '@sealsig/core';
import { createWebSocketTransport, type WebSocketTransport } from '@sealsig/transport-websocket';
import { connectPeers, type Peers, type Signaling } from '@sealsig/webrtc';
import { clock, logEntry, logRelayFrame } from './relay-view.js';
import { setupRoomDemo } from './room-demo.js';

/** What the browser test reads (packages/demo/test/browser.test.ts). */
export interface DemoProbe {
  topic?: string;
  transportState: string;
  channelOpen: boolean;
  chat: string[];
  relayFrames: number;
  sent: number;
  received: number;
  errors: string[];
  sendChat(text: string): boolean;
}

const probe: DemoProbe = { transportState: 'connecting', channelOpen: false, chat: [], relayFrames: 0, sent: 0, received: 0, errors: [], sendChat: () => false };
(globalThis as { sealsigDemo?: DemoProbe }).sealsigDemo = probe;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
function status(id: string, text: string, tone: 'ok' | 'warn' | 'bad' | '' = ''): void {
  const el = $(id);
  el.textContent = text;
  el.className = tone;
}

function showError(message: string): void {
  probe.errors.push(message);
  $('error').textContent += `${message}\n`;
}

function chatLine(cls: 'me' | 'them' | 'sys', text: string): void {
  const line = document.createElement('div');
  line.className = cls;
  line.textContent = cls === 'sys' ? text : `${cls === 'me' ? 'you' : 'peer'}: ${text}`;
  $('chat-log').append(line);
  $('chat-log').scrollTop = $('chat-log').scrollHeight;
}

function sessionIdFromFragment(): string {
  const fromHash = location.hash.slice(1);
  if (fromHash) return fromHash;
  const id = createSessionId();
  history.replaceState(null, '', `#${id}`);
  return id;
}

function relayUrl(): string {
  const override = new URLSearchParams(location.search).get('relay');
  if (override) return override;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
}

/** A frame on this session's topic or this tab's inbox, as the relay sees it (from both pages). */
function showRelayFrame(topic: string, frame: Uint8Array, names: Map<string, string>): void {
  probe.relayFrames++;
  logRelayFrame($('log-relay'), topic, frame, names);
}

/**
 * The connections to the other tabs (@sealsig/webrtc: perfect negotiation, a 'chat' channel, the camera's
 * tracks) over the core session, with every description and candidate shown in the "sent" column on its way
 * out, and this page's status lights and probe around them.
 */
function connectCalls(session: Session): Peers {
  const logged: Signaling = {
    id: session.id,
    sendDescription: (id, description) => {
      logSent(description.type, id, description);
      return session.sendDescription(id, description);
    },
    sendCandidate: (id, candidate) => {
      logSent(candidate === null ? 'end of candidates' : 'ICE candidate', id, candidate);
      return session.sendCandidate(id, candidate);
    },
    on: (type, listener) => session.on(type as keyof SessionEvents, listener),
  };
  const peers = connectPeers(logged, { channels: ['chat'] });
  const anyOpen = () => [...peers.peers.values()].some((p) => p.channel('chat')?.readyState === 'open');
  peers.on('peer', (peer) => {
    status('st-peer', `${peer.id.slice(0, 8)} joined`, 'ok');
    status('st-dc', 'connecting', 'warn');
    chatLine('sys', `peer ${peer.id.slice(0, 8)} joined; negotiating WebRTC through the relay`);
  });
  peers.on('open', () => {
    probe.channelOpen = true;
    status('st-dc', 'open', 'ok');
    chatLine('sys', 'data channel open: messages now go peer to peer, not through the relay');
    $<HTMLInputElement>('chat-input').disabled = false;
    $<HTMLButtonElement>('chat-send').disabled = false;
  });
  peers.on('message', ({ value }) => {
    probe.chat.push(String(value));
    chatLine('them', String(value));
  });
  peers.on('connection-state', ({ state: s }) => status('st-rtc', s, s === 'connected' ? 'ok' : s === 'failed' || s === 'closed' ? 'bad' : 'warn'));
  peers.on('track', ({ streams, track }) => {
    $<HTMLVideoElement>('remote').srcObject = streams[0] ?? new MediaStream([track]);
  });
  peers.on('peer-left', ({ reason }) => {
    probe.channelOpen = anyOpen();
    status('st-peer', `left (${reason})`, 'bad');
    status('st-dc', probe.channelOpen ? 'open' : '-');
    chatLine('sys', `peer left (${reason}); waiting for another tab`);
  });
  peers.on('error', ({ error }) => showError(error.message));
  return peers;
}

function logSent(label: string, to: string, value: unknown): void {
  logEntry($('log-sent'), label, `${clock()}  to ${to.slice(0, 8)}`, JSON.stringify(value, null, 1));
  probe.sent++;
}

async function main(): Promise<void> {
  window.addEventListener('hashchange', () => location.reload());
  const url = relayUrl();
  // A room invite (#invite=...) shows only the room's consent panel: no two-tab session on that page. A page
  // that creates a room leaves its two-tab session (stopCall) and shows only the room.
  const invited = location.hash.startsWith('#invite=');
  let inRoom = false;
  let stopCall = (): void => undefined;
  setupRoomDemo({
    relayUrl: url,
    inviteText: invited ? location.hash.slice(1) : undefined,
    onEnter: () => {
      inRoom = true;
      document.body.classList.add('in-room');
      stopCall();
    },
  });
  if (invited) {
    document.body.classList.add('invited');
    return;
  }

  const sessionId = sessionIdFromFragment();
  $<HTMLInputElement>('link').value = location.href;
  $('copy').onclick = () => void navigator.clipboard?.writeText(location.href);
  const transport: WebSocketTransport = createWebSocketTransport({ urls: [url] });
  const observer: WebSocketTransport = createWebSocketTransport({ urls: [url] }); // the relay's view
  transport.onStateChange((s) => {
    probe.transportState = s;
    status('st-relay', s, s === 'open' ? 'ok' : s === 'closed' ? 'bad' : 'warn');
  });
  transport.onError((e) => (e.type === 'connection-lost' ? undefined : showError(`relay: ${e.error.message}`)));

  const session = await joinSession({ sessionId, transport });
  // Listeners first, before any other await: peers and their frames may already be on their way.
  const names = new Map<string, string>([[toHex(fromB64(session.id)), 'this page']]);
  session.on('error', (e) => showError(`sealsig: ${e.code}: ${e.message}`));
  let camera: MediaStream | undefined;
  session.on('peer-joined', (peer) => names.set(toHex(fromB64(peer.id)), 'peer'));
  session.on('signal', ({ from, description, candidate }) => {
    probe.received++;
    const label = description ? description.type : candidate === null ? 'end of candidates' : 'ICE candidate';
    logEntry($('log-received'), label, `${clock()}  from ${from.id.slice(0, 8)}`, JSON.stringify(description ?? candidate, null, 1));
  });
  const peers = connectCalls(session);
  if (peers.peers.size === 0) chatLine('sys', 'waiting for the other tab to open the link...');
  const sendChat = (text: string): boolean => {
    if (peers.send('chat', text) === 0) return false;
    chatLine('me', text);
    return true;
  };
  probe.sendChat = sendChat;
  $<HTMLButtonElement>('camera').disabled = !navigator.mediaDevices?.getUserMedia;

  probe.topic = session.topic;
  $('topic').textContent = session.topic;
  status('st-relay', transport.state, transport.state === 'open' ? 'ok' : 'warn');
  // What the relay carries for this tab: the session topic, and this tab's inbox (handshakes and direct
  // frames addressed to it; PROTOCOL.md §3.6).
  await observer.subscribe(session.topic, (frame) => showRelayFrame(session.topic, frame, names));
  await observer.subscribe(session.inbox, (frame) => showRelayFrame(session.inbox, frame, names));

  $('chat-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('chat-input');
    if (input.value && sendChat(input.value)) input.value = '';
  };
  $('camera').onclick = async () => {
    try {
      camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      $<HTMLVideoElement>('local').srcObject = camera;
      $<HTMLButtonElement>('camera').disabled = true;
      peers.addStream(camera); // each connection renegotiates
    } catch (e) {
      showError(`camera: ${String(e)}`);
    }
  };
  let stopped = false;
  stopCall = () => {
    if (stopped) return;
    stopped = true;
    peers.close();
    void session.close().then(() => Promise.all([transport.close(), observer.close()]));
  };
  window.addEventListener('pagehide', stopCall);
  if (inRoom) stopCall(); // a room was created while the session was starting
}

/** A member id (base64url) as bytes, to match it against frame headers. */
function fromB64(id: string): Uint8Array {
  return fromBase64Url(id) ?? new Uint8Array(0);
}

main().catch((e: unknown) => showError(`could not start: ${String(e)}`));
