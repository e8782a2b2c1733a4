/**
 * The demo page's moderated, password-protected room (@sealsig/rooms, docs/PROTOCOL.md §R).
 *
 * "Create password room" makes this page the moderator (§R5): it shows the invite link (the invite rides in
 * the URL fragment, #invite=..., which browsers never send to a server), each join request with Accept and
 * Reject, and the members with Kick; a reason typed first is shown to the rejected joiner or the kicked
 * member (as text: the moderator's words, never markup). A page opened with #invite=... first shows what the
 * invite says, parsed locally, and sends nothing before the user clicks Join (consent, §R3); the password is
 * proved with CPace (§R4), so neither the relay nor a wrong guess learns it. Once in the room, members open
 * a WebRTC data channel to each other, with offers, answers and candidates signaled through the room, and
 * chat over it.
 *
 * The relay connection is opened on the first Create or Join click, not before. From then on the room's relay
 * panel shows every frame this page sent through the relay or got from it (relay-view.ts): the lobby's
 * password check and join request, then the room's messages, all sealed.
 */
import { fromBase64Url, SealsigError, toHex, type Transport } from '@sealsig/core';
import { createRoom, joinRoom, keyFingerprint, lobbyTopicOf, parseInvite, type Invite, type JoinRequest, type Member, type Room } from '@sealsig/rooms';
import { createWebSocketTransport, type WebSocketTransport } from '@sealsig/transport-websocket';
import { connectPeers, type Peers } from '@sealsig/webrtc';
import { LOG_ENTRIES, logRelayFrame, watchTransport } from './relay-view.js';

/** What the browser test reads and drives (packages/demo/test/rooms-browser.test.ts). */
export interface RoomDemoProbe {
  role: 'none' | 'moderator' | 'member';
  /** The link to share (moderator). */
  inviteLink?: string;
  joined: boolean;
  /** A create or join is under way. */
  busy: boolean;
  /** The SealsigError code of the last failed create or join. */
  error?: string;
  /** The reason given when the moderator removed this page. */
  kicked?: string;
  /** The reason given when the moderator turned this page's join request away (E_ACCESS_DENIED). */
  rejected?: string;
  members: { id: string; name: string; isModerator: boolean }[];
  /** Every join request the moderator was asked about, in order. */
  requests: { name: string; passwordVerified: boolean }[];
  /** Join requests still waiting for Accept or Reject. */
  pending: number;
  channelOpen: boolean;
  /** Chat lines received over the data channels. */
  chat: string[];
  /** Room 'error' events (dropped frames and the like), as "code: message". */
  errors: string[];
  /** Frames shown in the room's relay panel (sent and received). */
  relayFrames: number;
  /** The topics those frames travelled on, with what each is (lobby, room, an inbox). */
  relayTopics: Record<string, string>;
  createRoom(password: string, name?: string): Promise<void>;
  join(password: string, name?: string): Promise<void>;
  acceptAll(): number;
  sendChat(text: string): number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The longest reason a kick or a rejection carries (PROTOCOL.md §R1: join-rejected, kicked; @sealsig/rooms cuts longer ones). */
const MAX_REASON_CHARS = 200;
const KICK_REASON = 'removed by the moderator';
const REJECT_REASON = 'the moderator declined';

function codeOf(e: unknown): string {
  return e instanceof SealsigError ? e.code : 'E_UNEXPECTED';
}

/** The `reason` a rejected join carries (joinRoom's SealsigError), if any. */
function reasonOf(e: unknown): string | undefined {
  const reason = e instanceof SealsigError ? (e as { reason?: unknown }).reason : undefined;
  return typeof reason === 'string' && reason.length > 0 ? reason : undefined;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.onclick = onClick;
  return b;
}

/**
 * Wires the room section of the page. `inviteText` is the fragment when the page was opened with #invite=...;
 * `onEnter` runs once this page is in a room (created or joined).
 */
export function setupRoomDemo(options: { relayUrl: string; inviteText: string | undefined; onEnter?: () => void }): RoomDemoProbe {
  let ws: WebSocketTransport | undefined;
  let transport: Transport | undefined; // ws, watched for the relay panel
  const connect = (): Transport => {
    ws ??= createWebSocketTransport({ urls: [options.relayUrl] });
    $('room-relay').hidden = false;
    return (transport ??= watchTransport(ws, showRelayFrame));
  };
  let room: Room | undefined;
  let invite: Invite | undefined;
  let peers: Peers | undefined; // the WebRTC connections to the other members (@sealsig/webrtc)
  const pending = new Map<string, JoinRequest>(); // by the joiner's lobby id

  const probe: RoomDemoProbe = {
    role: 'none',
    joined: false,
    busy: false,
    members: [],
    requests: [],
    pending: 0,
    channelOpen: false,
    chat: [],
    errors: [],
    relayFrames: 0,
    relayTopics: {},
    createRoom: (password, name) => create(password, name ?? $<HTMLInputElement>('room-name').value),
    join: (password, name) => join(password, name ?? $<HTMLInputElement>('room-name').value),
    acceptAll: () => {
      const all = [...pending.values()];
      for (const request of all) decide(request, true);
      return all.length;
    },
    sendChat: (text) => sendChat(text),
  };
  (globalThis as { sealsigRoomDemo?: RoomDemoProbe }).sealsigRoomDemo = probe;

  // --- rendering ---------------------------------------------------------------------------------------

  const names = new Map<string, string>(); // member id (hex) -> name, for the relay panel
  const nameMember = (id: string, name: string) => names.set(toHex(fromBase64Url(id) ?? new Uint8Array(0)), name);
  let lobbyTopic: string | undefined; // derived on first use: core's crypto is ready only once a room starts

  /**
   * What a topic is, as far as this page knows: the lobby (§R3) or the room, or an inbox on either (an inbox
   * is its session's topic, '_', and the member's inbox id: PROTOCOL.md §3.6).
   */
  function topicLabel(topic: string): string {
    if (invite !== undefined) lobbyTopic ??= lobbyTopicOf(invite);
    if (topic === lobbyTopic) return 'lobby';
    if (topic === room?.session.topic) return 'room';
    if (topic === room?.session.inbox) return 'your inbox';
    if (lobbyTopic !== undefined && topic.startsWith(`${lobbyTopic}_`)) return 'a lobby inbox';
    if (room !== undefined && topic.startsWith(`${room.session.topic}_`)) return "a member's inbox";
    return 'unknown';
  }

  /** Each relay panel entry's title, by topic: frames sent before create or join returned are named again after. */
  const titles: { topic: string; direction: string; title: HTMLElement }[] = [];
  const title = (t: (typeof titles)[number]) => (t.title.textContent = `${t.direction} ${t.topic} (${topicLabel(t.topic)})`);

  function showRelayFrame(direction: 'out' | 'in', topic: string, frame: Uint8Array): void {
    probe.relayFrames++;
    probe.relayTopics[topic] = topicLabel(topic);
    const entry = logRelayFrame($('room-log-relay'), topic, frame, names);
    const t = { topic, direction: direction === 'out' ? 'sent on' : 'received on', title: entry.querySelector<HTMLElement>('.what')! };
    titles.push(t);
    if (titles.length > LOG_ENTRIES) titles.shift(); // as many as the panel keeps
    title(t);
  }

  /** Names the topics again once this page knows which is which (after create, join or consent). */
  function relabel(): void {
    for (const topic of Object.keys(probe.relayTopics)) probe.relayTopics[topic] = topicLabel(topic);
    for (const t of titles) title(t);
  }

  function status(text: string, tone: 'ok' | 'warn' | 'bad' | '' = ''): void {
    const el = $('room-status');
    el.textContent = text;
    el.className = `note ${tone}`;
  }

  function chatLine(cls: 'me' | 'them' | 'sys', text: string): void {
    const line = document.createElement('div');
    line.className = cls;
    line.textContent = text;
    $('room-chat-log').append(line);
    $('room-chat-log').scrollTop = $('room-chat-log').scrollHeight;
  }

  function renderRequests(): void {
    probe.pending = pending.size;
    const box = $('room-requests');
    box.replaceChildren();
    if (pending.size === 0) {
      const none = document.createElement('p');
      none.className = 'note';
      none.textContent = 'none';
      box.append(none);
    }
    for (const request of pending.values()) {
      const row = document.createElement('div');
      row.className = 'item';
      const label = document.createElement('span');
      label.textContent = `${request.name || '(no name)'}  ${request.passwordVerified ? 'password verified' : 'no password'}  key ${keyFingerprint(request.key)}`;
      row.append(label, button('Accept', () => decide(request, true)), button('Reject', () => decide(request, false)));
      box.append(row);
    }
  }

  function renderMembers(): void {
    const members = room?.members ?? [];
    probe.members = members.map((m) => ({ id: m.id, name: m.name, isModerator: m.isModerator }));
    const list = $('room-members');
    list.replaceChildren();
    for (const m of members) {
      nameMember(m.id, m.name || '(no name)');
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = `${m.name || '(no name)'}${m.isModerator ? ' (moderator)' : ''}  ${chatOpen(m.id) ? 'data channel open' : 'connecting'}`;
      item.append(label);
      if (room?.isModerator && !m.isModerator) item.append(button('Kick', () => void kick(m, takeReason(KICK_REASON))));
      list.append(item);
    }
    if (members.length === 0) list.textContent = 'nobody else yet';
  }

  function chatOpen(memberId: string): boolean {
    return peers?.peers.get(memberId)?.channel('chat')?.readyState === 'open';
  }

  function channelsChanged(): void {
    probe.channelOpen = [...(peers?.peers.keys() ?? [])].some(chatOpen);
    $<HTMLInputElement>('room-chat-input').disabled = !probe.channelOpen;
    $<HTMLButtonElement>('room-chat-send').disabled = !probe.channelOpen;
    renderMembers();
  }

  // --- in the room -------------------------------------------------------------------------------------

  /** One connection per member, signaled through the room, with its ICE servers; closed when the member leaves. */
  function connectMembers(r: Room): Peers {
    const p = connectPeers(r, { channels: ['chat'] });
    p.on('open', ({ peer }) => {
      chatLine('sys', `data channel to ${peer.info.name ?? ''} open: messages now go peer to peer`);
      channelsChanged();
    });
    p.on('message', ({ from, value }) => {
      probe.chat.push(String(value));
      chatLine('them', `${from.info.name ?? ''}: ${String(value)}`);
    });
    p.on('peer-left', channelsChanged);
    p.on('error', ({ error }) => probe.errors.push(error.message));
    return p;
  }

  /** Listeners first, synchronously: members and their signals may already be on their way. */
  function enter(r: Room, role: 'moderator' | 'member'): void {
    room = r;
    nameMember(r.session.id, 'you');
    relabel();
    peers = connectMembers(r); // first: its listeners close a leaving member's connection before the page renders
    r.on('peer-joined', (member) => {
      chatLine('sys', `${member.name} is in the room; negotiating WebRTC through it`);
      renderMembers();
    });
    r.on('peer-left', ({ member, reason }) => {
      chatLine('sys', `${member.name} left (${reason})`);
      channelsChanged();
    });
    r.on('epoch', ({ epoch }) => chatLine('sys', `new room key (epoch ${epoch})`));
    r.on('error', (e) => probe.errors.push(`${e.code}: ${e.message}`));
    r.on('kicked', ({ reason }) => {
      probe.kicked = reason;
      probe.joined = false;
      channelsChanged(); // connectPeers closed every connection (reason 'kicked')
      status(`The moderator removed you from the room: ${reason}`, 'bad');
      $('intro').textContent = 'The moderator removed you from this room: ask them for a new invite to come back, or close this tab.';
      $('room-inside').hidden = true;
    });
    probe.role = role;
    probe.joined = true;
    $('room-inside').hidden = false;
    $('intro').textContent =
      role === 'moderator'
        ? 'You moderate this room: send the invite link and the password separately, then accept or reject each join request below.'
        : 'You are in the room: the chat below goes over WebRTC data channels negotiated through the sealed room.';
    renderMembers();
    options.onEnter?.();
  }

  function sendChat(text: string): number {
    const sent = peers?.send('chat', text) ?? 0;
    if (sent > 0) chatLine('me', `you: ${text}`);
    return sent;
  }

  // --- moderator -----------------------------------------------------------------------------------------

  async function create(password: string, name: string): Promise<void> {
    if (room !== undefined || probe.busy) return;
    if (password.length === 0) {
      probe.error = 'E_INVALID_ARGUMENT';
      return status('Choose a password first.', 'bad');
    }
    probe.busy = true;
    probe.error = undefined;
    status('creating the room...', 'warn');
    try {
      const r = await createRoom({ transport: connect(), name: name || 'moderator', password, moderation: { admit: 'ask' } });
      invite = parseInvite(r.invite);
      relabel();
      r.on('join-request', (request) => {
        probe.requests.push({ name: request.name, passwordVerified: request.passwordVerified });
        pending.set(request.id, request);
        renderRequests();
      });
      enter(r, 'moderator');
      probe.inviteLink = `${location.origin}${location.pathname}#invite=${r.invite}`;
      $<HTMLInputElement>('room-invite').value = probe.inviteLink;
      $('room-invite-box').hidden = false;
      $('room-reason-box').hidden = false;
      $<HTMLInputElement>('room-password').value = '';
      $('room-create-form').hidden = true;
      status(`Room created; you moderate it (key ${keyFingerprint(r.key)}). Send the invite link and the password separately.`, 'ok');
    } catch (e) {
      probe.error = codeOf(e);
      status(`Could not create the room: ${String(e)}`, 'bad');
    } finally {
      probe.busy = false;
    }
  }

  /** The moderator's reason field, bounded, or `fallback` when empty; the field is cleared for the next decision. */
  function takeReason(fallback: string): string {
    const input = $<HTMLInputElement>('room-reason');
    const reason = input.value.trim().slice(0, MAX_REASON_CHARS);
    input.value = '';
    return reason || fallback;
  }

  function decide(request: JoinRequest, accept: boolean): void {
    pending.delete(request.id);
    renderRequests();
    if (accept) request.accept();
    else request.reject(takeReason(REJECT_REASON));
  }

  async function kick(member: Member, reason: string): Promise<void> {
    try {
      await room?.kick(member.id, reason);
    } catch (e) {
      probe.errors.push(`kick failed: ${String(e)}`);
    }
  }

  // --- joiner --------------------------------------------------------------------------------------------

  async function join(password: string, name: string): Promise<void> {
    if (invite === undefined || room !== undefined || probe.busy) return;
    probe.busy = true;
    probe.error = undefined;
    probe.rejected = undefined;
    status('Asking the moderator: proving the password, then waiting for their decision...', 'warn');
    try {
      const r = await joinRoom({ transport: connect(), invite, name: name || 'guest', password });
      enter(r, 'member');
      $('room-consent').hidden = true;
      status('You are in the room.', 'ok');
    } catch (e) {
      probe.error = codeOf(e);
      const why: Record<string, string> = {
        E_WRONG_PASSWORD: 'Wrong password.',
        E_ACCESS_DENIED: 'The moderator did not let you in.',
        E_RATE_LIMITED: 'Too many password attempts; try again later.',
        E_TIMEOUT: 'No answer from the moderator in time.',
        E_INVALID_ARGUMENT: 'This room needs a password.',
        E_STALE: 'This invite has expired: ask the moderator for a new link.',
        E_AUTH_FAILED: 'This invite was altered or is not accepted by the moderator: ask for a new link.',
      };
      const reason = probe.error === 'E_ACCESS_DENIED' ? reasonOf(e) : undefined;
      probe.rejected = reason;
      // The moderator's words, shown as text (status sets textContent): they may hold anything, markup included.
      if (reason !== undefined) status(`The moderator did not let you in: ${reason} (${probe.error})`, 'bad');
      else status(`${why[probe.error] ?? 'Could not join.'} (${probe.error})`, 'bad');
    } finally {
      probe.busy = false;
    }
  }

  function showConsent(text: string): void {
    $('room-create').hidden = true;
    $('room-consent').hidden = false;
    try {
      invite = parseInvite(text); // local: nothing is sent
    } catch (e) {
      probe.error = codeOf(e);
      $('room-consent-text').textContent =
        probe.error === 'E_VERSION' ? 'This link holds an invite of an older version: ask the moderator for a new link (E_VERSION).' : `This link does not hold a valid room invite (${probe.error}).`;
      $('room-join-form').hidden = true;
      return;
    }
    $('intro').textContent =
      `You were invited to a sealsig room whose relay sees only ciphertext: check the moderator key below${invite.passwordRequired ? ', type the room password' : ''} and click Join.`;
    $('room-consent-text').textContent =
      `Join the room moderated by ${keyFingerprint(invite.moderatorKey)}?` +
      (invite.passwordRequired ? ' It asks a password.' : '') +
      ` The invite expires ${new Date(invite.expiresAt).toLocaleString()}.` +
      ' Nothing is sent until you click Join; the moderator then sees your name and decides.';
    $('room-join-password').hidden = !invite.passwordRequired;
  }

  // --- wiring ----------------------------------------------------------------------------------------------

  $('room-create-form').onsubmit = (event) => {
    event.preventDefault();
    void create($<HTMLInputElement>('room-password').value, $<HTMLInputElement>('room-name').value);
  };
  $('room-invite-copy').onclick = () => void navigator.clipboard?.writeText($<HTMLInputElement>('room-invite').value);
  $('room-join-form').onsubmit = (event) => {
    event.preventDefault();
    void join($<HTMLInputElement>('room-join-password').value, $<HTMLInputElement>('room-name').value);
  };
  $('room-decline').onclick = () => {
    invite = undefined;
    $('room-join-form').hidden = true;
    status('Declined: nothing was sent.');
  };
  $('room-chat-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('room-chat-input');
    if (input.value && sendChat(input.value) > 0) input.value = '';
  };
  window.addEventListener('pagehide', () => {
    peers?.close();
    void Promise.resolve(room?.close()).then(() => ws?.close());
  });
  if (options.inviteText !== undefined) showConsent(options.inviteText);
  renderRequests();
  return probe;
}
