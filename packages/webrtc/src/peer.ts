/**
 * One RTCPeerConnection to one member, negotiated with the "perfect negotiation" pattern (W3C WebRTC §10.7)
 * over a Signaling (every offer, answer and candidate sealed to that member by sealsig). The side whose
 * member id sorts first is impolite: it wins offer collisions; the polite side rolls its offer back.
 * Descriptions and candidates are handled one at a time, in arrival order; candidates that arrive before
 * their description wait for it. A connection that fails restarts ICE while the member is present.
 *
 * Two departures from the textbook pattern, both for connections that would otherwise never come up:
 * - The first negotiation has no glare: both sides add their data channels at once, so both would offer, and
 *   the polite side's rollback of an offer whose ICE gathering had begun was seen to leave Chromium
 *   gathering forever (no candidate ever sent: ICE stays 'new' on both sides). So the polite side lets the
 *   impolite side's first offer come, and offers itself only if none arrived after FIRST_OFFER_WAIT_MS (the
 *   impolite side may have nothing to negotiate).
 * - A watchdog: a connection not connected `connectTimeoutMs` after it was made (or last restarted) is
 *   repaired by the impolite side, while the member is present: its offer is sent again if no answer came
 *   (a description lost on the way), else ICE restarts (new credentials, a new gathering on both sides).
 *   Each repair that does not help doubles the wait, up to 8 times `connectTimeoutMs` (a member that never
 *   answers, such as one without connectPeers, costs one description every 2 minutes at the default).
 */
import type { IceCandidate, SessionDescription } from '@sealsig/core';
import type { PeerIdentity, Signaling } from './signaling.js';

/** What a Peer reports to its owner (Peers). */
export interface PeerHooks {
  open(peer: Peer, channel: string): void;
  message(peer: Peer, channel: string, value: unknown): void;
  track(peer: Peer, track: MediaStreamTrack, streams: readonly MediaStream[]): void;
  state(peer: Peer, state: RTCPeerConnectionState): void;
  error(peer: Peer, error: Error): void;
}

export interface PeerOptions {
  signaling: Signaling;
  info: PeerIdentity;
  /** The member's instance (this join of it), where the signaling layer tells it. */
  instance?: string | undefined;
  configuration: RTCConfiguration;
  RTCPeerConnection: typeof RTCPeerConnection;
  /** Data channel names: channel i is negotiated out of band with id i, so both sides must list the same names. */
  channels: readonly string[];
  /** Tracks to send from the start, with their streams. */
  tracks: readonly { track: MediaStreamTrack; streams: readonly MediaStream[] }[];
  /** Default: this member's id sorts after the peer's. */
  polite?: boolean;
  /** The watchdog's delay (ms); 0 turns it off. */
  connectTimeoutMs: number;
  hooks: PeerHooks;
}

/** How long a polite side waits for the impolite side's first offer before it offers itself (ms). */
export const FIRST_OFFER_WAIT_MS = 1_500;

/** One managed RTCPeerConnection to one member (created by connectPeers; its constructor is internal). */
export class Peer {
  /** The member id. */
  readonly id: string;
  /** The connection itself (media, stats; the package listens with addEventListener, so on* handlers are the app's). */
  readonly pc: RTCPeerConnection;
  /** Whether this side yields in an offer collision. */
  readonly polite: boolean;
  /** The member's instance this connection belongs to, where known: a reloaded member gets a new connection. */
  readonly instance: string | undefined;
  #info: PeerIdentity;
  #signaling: Signaling;
  #hooks: PeerHooks;
  #channels = new Map<string, RTCDataChannel>();
  #senders = new Map<MediaStreamTrack, RTCRtpSender>();
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  #pendingCandidates: IceCandidate[] = [];
  #inbox: Promise<void> = Promise.resolve();
  #present = true;
  #closed = false;
  /** A description that could not be sent while the member was away: sent again on its return. */
  #unsent = false;
  #connectTimeoutMs: number;
  #watchdogMs: number;
  #firstOfferTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  /** @internal Made by Peers (connectPeers). */
  constructor(o: PeerOptions) {
    this.id = o.info.id;
    this.instance = o.instance ?? o.info.instance;
    this.#info = o.info;
    this.#signaling = o.signaling;
    this.#hooks = o.hooks;
    this.polite = o.polite ?? o.signaling.id > o.info.id;
    this.#connectTimeoutMs = o.connectTimeoutMs;
    this.#watchdogMs = o.connectTimeoutMs;
    const pc = new o.RTCPeerConnection(o.configuration);
    this.pc = pc;
    // Listeners, not on* handlers: the app may set those on peer.pc.
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate) void this.#send(() => this.#signaling.sendCandidate(this.id, toCandidate(candidate)));
    });
    pc.addEventListener('negotiationneeded', () => this.#negotiationNeeded());
    pc.addEventListener('track', ({ track, streams }) => this.#hooks.track(this, track, streams));
    pc.addEventListener('connectionstatechange', () => this.#onState());
    o.channels.forEach((name, id) => this.#attach(pc.createDataChannel(name, { negotiated: true, id })));
    for (const { track, streams } of o.tracks) this.addTrack(track, streams);
    this.#armWatchdog();
  }

  /** The member as the signaling layer last reported it (core PeerInfo with `meta`, or a room Member with `name`). */
  get info(): PeerIdentity {
    return this.#info;
  }

  /** The member's hello data (core sessions), if any. */
  get meta(): unknown {
    return this.#info.meta;
  }

  /** The connection's RTCPeerConnectionState. */
  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** Whether the member is present in the signaling layer (false while it has timed out but the call goes on). */
  get present(): boolean {
    return this.#present;
  }

  /** Closed and forgotten. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The data channel of that name (open or not), if it was configured. */
  channel(name: string): RTCDataChannel | undefined {
    return this.#channels.get(name);
  }

  /** Sends a JSON-able value on the named channel; false when that channel is not open. */
  send(channel: string, value: unknown): boolean {
    const c = this.#channels.get(channel);
    if (c === undefined || c.readyState !== 'open') return false;
    c.send(JSON.stringify(value));
    return true;
  }

  /** Sends a local track to this peer (Peers.addTrack does it for every peer). */
  addTrack(track: MediaStreamTrack, streams: readonly MediaStream[]): void {
    if (this.#closed || this.#senders.has(track)) return;
    this.#senders.set(track, this.pc.addTrack(track, ...streams));
  }

  /** Stops sending a track to this peer. */
  removeTrack(track: MediaStreamTrack): void {
    const sender = this.#senders.get(track);
    if (sender === undefined) return;
    this.#senders.delete(track);
    if (!this.#closed) this.pc.removeTrack(sender);
  }

  /** A description or candidate from this member, handled after the ones before it. */
  receive(signal: { description?: SessionDescription; candidate?: IceCandidate | null }): Promise<void> {
    const run = async () => {
      if (this.#closed) return;
      try {
        if (signal.description) await this.#onDescription(signal.description);
        else if (signal.candidate) await this.#onCandidate(signal.candidate);
      } catch (e) {
        if (!this.#closed) this.#hooks.error(this, asError(e));
      }
    };
    this.#inbox = this.#inbox.then(run);
    return this.#inbox;
  }

  /** @internal The member left the signaling layer (timeout) or came back (`info` of its new hello). */
  setPresent(present: boolean, info?: PeerIdentity): void {
    this.#present = present;
    if (info) this.#info = info;
    if (!present || this.#closed) return;
    if (this.#unsent) {
      // An offer or answer made while the member was away never reached it: the negotiation waits for it.
      this.#unsent = false;
      void this.#sendDescription();
    }
    if (this.pc.connectionState === 'failed') this.#restartIce();
  }

  /** Closes this connection (the member stays in the session). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingCandidates = [];
    clearTimeout(this.#firstOfferTimer);
    clearTimeout(this.#watchdog);
    this.pc.close();
  }

  async #onDescription(description: SessionDescription): Promise<void> {
    const pc = this.pc;
    // §10.7: an offer collides unless we are stable (or about to be, applying an answer) and not making one.
    const readyForOffer = !this.#makingOffer && (pc.signalingState === 'stable' || this.#settingRemoteAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.polite && collision;
    if (this.#ignoreOffer) return;
    if (description.type === 'offer') {
      clearTimeout(this.#firstOfferTimer); // the impolite side's first offer came: ours is not needed
      this.#firstOfferTimer = undefined;
    }
    this.#settingRemoteAnswer = description.type === 'answer';
    try {
      await pc.setRemoteDescription(description as RTCSessionDescriptionInit); // a polite side's offer is rolled back implicitly
    } finally {
      this.#settingRemoteAnswer = false;
    }
    for (const c of this.#pendingCandidates.splice(0)) await this.#addCandidate(c);
    if (description.type === 'offer') {
      await pc.setLocalDescription();
      await this.#sendDescription();
    }
  }

  async #onCandidate(candidate: IceCandidate): Promise<void> {
    if (this.pc.remoteDescription === null) {
      this.#pendingCandidates.push(candidate); // its description is still on its way
      return;
    }
    await this.#addCandidate(candidate);
  }

  async #addCandidate(candidate: IceCandidate): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate as RTCIceCandidateInit);
    } catch (e) {
      if (!this.#ignoreOffer) throw e; // candidates of an offer we ignored fail: expected
    }
  }

  #negotiationNeeded(): void {
    const nothingYet = this.pc.remoteDescription === null && this.pc.localDescription === null;
    if (!this.polite || !nothingYet) return void this.#offer();
    this.#firstOfferTimer ??= setTimeout(() => {
      this.#firstOfferTimer = undefined;
      if (!this.#closed && this.pc.remoteDescription === null && this.pc.signalingState === 'stable') void this.#offer();
    }, FIRST_OFFER_WAIT_MS);
  }

  async #offer(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      await this.#sendDescription();
    } catch (e) {
      if (!this.#closed) this.#hooks.error(this, asError(e));
    } finally {
      this.#makingOffer = false;
    }
  }

  async #sendDescription(): Promise<void> {
    const d = this.pc.localDescription;
    if (d === null) return;
    const sent = await this.#send(() => this.#signaling.sendDescription(this.id, { type: d.type, sdp: d.sdp }));
    if (!sent && !this.#present) this.#unsent = true;
  }

  /** Whether it was sent; a failure is reported unless the member is away (its return sends again) or closed. */
  async #send(send: () => Promise<void>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (e) {
      if (!this.#closed && this.#present) this.#hooks.error(this, asError(e));
      return false;
    }
  }

  #onState(): void {
    if (this.#closed) return;
    const state = this.pc.connectionState;
    if (state === 'connected') {
      clearTimeout(this.#watchdog);
      this.#watchdogMs = this.#connectTimeoutMs;
    }
    if (state === 'failed' && this.#present) this.#restartIce();
    this.#hooks.state(this, state);
  }

  #restartIce(): void {
    if (typeof this.pc.restartIce === 'function') this.pc.restartIce(); // negotiationneeded: an offer with new ICE credentials
    this.#armWatchdog();
  }

  /** The watchdog (see the top of this file): the impolite side repairs a connection that is not coming up. */
  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    if (this.#closed || this.#connectTimeoutMs <= 0) return;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#closed || this.pc.connectionState === 'connected') return;
      this.#watchdogMs = Math.min(this.#watchdogMs * 2, this.#connectTimeoutMs * 8);
      if (!this.polite && this.#present) {
        if (this.pc.signalingState === 'have-local-offer') void this.#sendDescription(); // its answer may be lost
        else if (this.pc.signalingState === 'stable') return this.#restartIce(); // re-arms
      }
      this.#armWatchdog();
    }, this.#watchdogMs);
  }

  #attach(channel: RTCDataChannel): void {
    this.#channels.set(channel.label, channel);
    channel.addEventListener('open', () => this.#hooks.open(this, channel.label));
    channel.addEventListener('message', ({ data }) => {
      let value: unknown;
      try {
        value = JSON.parse(String(data));
      } catch {
        this.#hooks.error(this, new Error(`a message on channel ${channel.label} is not JSON`));
        return;
      }
      this.#hooks.message(this, channel.label, value);
    });
  }
}

function toCandidate(c: RTCIceCandidate): IceCandidate {
  return typeof c.toJSON === 'function' ? (c.toJSON() as IceCandidate) : (c as IceCandidate);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
