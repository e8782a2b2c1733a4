/**
 * connectPeers: one managed RTCPeerConnection (a Peer) per member of a session or room, created when the
 * member appears, closed when it leaves for good. Leave semantics: 'bye', 'expelled', 'kicked', 'rejoined'
 * (a new instance of the member: a reload) and 'closed' close the connection; 'timeout' (the member fell
 * silent in the signaling layer: a relay outage, a suspended tab) keeps it while it is connected, and the
 * member's next hello (the same id, and the same instance where the layer reports one) finds it again. A
 * kept connection that then fails or closes is dropped.
 */
import { Emitter } from '@sealsig/core';
import { Peer } from './peer.js';
import { listen, type PeerIdentity, type Signaling, type SignalingLeaveReason } from './signaling.js';

/** Options of connectPeers. */
export interface ConnectPeersOptions {
  /** ICE servers for every connection. Default: the Room's `iceServers` (following its 'ice-servers' event), else none. */
  iceServers?: readonly RTCIceServer[];
  /** The RTCPeerConnection constructor. Default: the global one (browsers). */
  RTCPeerConnection?: typeof RTCPeerConnection;
  /**
   * Names of the data channels to open with every peer (default: none). Channel i is negotiated out of band
   * with id i: every member must pass the same list, in the same order.
   */
  channels?: readonly string[];
  /** Force this side's role in offer collisions (tests). Default: polite when this member's id sorts after the peer's. */
  polite?: boolean;
  /**
   * A connection not connected this long (ms) after it was made or last restarted is repaired by the
   * impolite side while the member is present: its offer sent again if unanswered, else an ICE restart.
   * Default 15 000; 0 turns it off.
   */
  connectTimeoutMs?: number;
}

/** Why a managed peer is gone: the signaling layer's reason, 'failed' (a connection kept after a timeout failed), or 'closed' (Peers.close). */
export type PeerLeftReason = SignalingLeaveReason | 'failed';

/** The events of Peers. */
export interface PeersEvents {
  /** A managed peer appeared: its connection is being negotiated. */
  peer: Peer;
  /** A data channel to a peer opened. */
  open: {
    /** The peer. */
    peer: Peer;
    /** The channel's name. */
    channel: string;
  };
  /** A JSON value arrived on a data channel. */
  message: {
    /** The sender. */
    from: Peer;
    /** The channel's name. */
    channel: string;
    /** The value sent (parsed JSON). */
    value: unknown;
  };
  /** A remote media track arrived. */
  track: {
    /** The sender. */
    from: Peer;
    /** The track. */
    track: MediaStreamTrack;
    /** The streams the sender put it in. */
    streams: readonly MediaStream[];
  };
  /** A peer's RTCPeerConnection changed connectionState. */
  'connection-state': {
    /** The peer. */
    peer: Peer;
    /** Its new connectionState. */
    state: RTCPeerConnectionState;
  };
  /** A peer's connection is closed and forgotten. */
  'peer-left': {
    /** The member's id. */
    id: string;
    /** The peer (closed now). */
    peer: Peer;
    /** Why. */
    reason: PeerLeftReason;
  };
  /** A negotiation or signaling step failed (the connection may recover: ICE restart, a later offer). */
  error: {
    /** The peer. */
    peer: Peer;
    /** What failed. */
    error: Error;
  };
}

/** The default of ConnectPeersOptions.connectTimeoutMs. */
const CONNECT_TIMEOUT_MS = 15_000;

/** Connects to every member of `signaling` (a core Session or a rooms Room). Listen to the events right away. */
export function connectPeers(signaling: Signaling, options: ConnectPeersOptions = {}): Peers {
  return new Peers(signaling, options);
}

export class Peers extends Emitter<PeersEvents> {
  #signaling: Signaling;
  #options: ConnectPeersOptions;
  #RTCPeerConnection: typeof RTCPeerConnection;
  #iceServers: readonly RTCIceServer[];
  #peers = new Map<string, Peer>();
  #tracks: { track: MediaStreamTrack; streams: readonly MediaStream[] }[] = [];
  #off: (() => void)[] = [];
  #closed = false;

  constructor(signaling: Signaling, options: ConnectPeersOptions = {}) {
    super();
    const ctor = options.RTCPeerConnection ?? (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection;
    if (ctor === undefined) throw new TypeError('no RTCPeerConnection: pass options.RTCPeerConnection outside browsers');
    const timeout = options.connectTimeoutMs;
    if (timeout !== undefined && !(Number.isSafeInteger(timeout) && timeout >= 0)) throw new RangeError('connectTimeoutMs must be a non-negative integer');
    this.#signaling = signaling;
    this.#options = options;
    this.#RTCPeerConnection = ctor;
    this.#iceServers = copy(options.iceServers ?? signaling.iceServers ?? []);
    this.#off.push(
      listen(signaling, 'peer-joined', (info) => this.#joined(info)),
      listen(signaling, 'peer-left', ({ peer, member, reason }) => this.#left((peer ?? member)!.id, reason)),
      listen(signaling, 'signal', ({ from, description, candidate }) => {
        if (this.#closed) return;
        const p = this.#peers.get(from.id) ?? this.#joined(from);
        void p.receive(candidate === undefined ? { description } : { candidate });
      }),
      listen(signaling, 'kicked', () => this.#closeAll('kicked')),
      listen(signaling, 'closed', () => this.#closeAll('closed')),
      listen(signaling, 'ice-servers', ({ iceServers }) => {
        if (options.iceServers !== undefined) return;
        this.#iceServers = copy(iceServers);
        for (const p of this.#peers.values()) p.pc.setConfiguration({ ...p.pc.getConfiguration(), iceServers: [...this.#iceServers] });
      }),
    );
    // A Room reports the members already present through `members` (a Session through 'peer-joined' itself);
    // after a microtask, so that listeners attached right after connectPeers hear of them.
    const present = signaling.members;
    if (present !== undefined) queueMicrotask(() => present.forEach((m) => this.#joined(m)));
  }

  /** The managed peers, by member id. */
  get peers(): ReadonlyMap<string, Peer> {
    return this.#peers;
  }

  /** close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The ICE servers new connections use. */
  get iceServers(): readonly RTCIceServer[] {
    return this.#iceServers;
  }

  /**
   * Sends a JSON-able value on a data channel: to one peer (a member id or a Peer), or to every peer whose
   * channel is open. Returns how many peers it was sent to (0 when no such channel is open yet).
   */
  send(channel: string, value: unknown, to?: string | Peer): number {
    if (to !== undefined) {
      const p = this.#peers.get(typeof to === 'string' ? to : to.id);
      return p?.send(channel, value) ? 1 : 0;
    }
    let sent = 0;
    for (const p of this.#peers.values()) if (p.send(channel, value)) sent++;
    return sent;
  }

  /** Sends a track to every peer, present and future (each connection renegotiates). */
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): void {
    if (this.#tracks.some((t) => t.track === track)) return;
    this.#tracks.push({ track, streams });
    for (const p of this.#peers.values()) p.addTrack(track, streams);
  }

  /** Stops sending a track to every peer. */
  removeTrack(track: MediaStreamTrack): void {
    this.#tracks = this.#tracks.filter((t) => t.track !== track);
    for (const p of this.#peers.values()) p.removeTrack(track);
  }

  /** Sends every track of a stream (a camera, a screen) to every peer, present and future, in that stream. */
  addStream(stream: MediaStream): void {
    for (const track of stream.getTracks()) this.addTrack(track, stream);
  }

  /** Stops sending every track of a stream added with addStream (or addTrack with that stream). */
  removeStream(stream: MediaStream): void {
    for (const { track } of this.#tracks.filter((t) => t.streams.includes(stream))) this.removeTrack(track);
  }

  /** Closes every connection and stops listening to the signaling layer (which stays open). */
  close(): void {
    if (this.#closed) return;
    this.#closeAll('closed');
    for (const off of this.#off.splice(0)) off();
  }

  #joined(info: PeerIdentity): Peer {
    // A Room's members carry no instance: its core session's live peers tell it.
    const instance = info.instance ?? this.#signaling.session?.peers.find((p) => p.id === info.id)?.instance;
    const kept = this.#peers.get(info.id);
    if (kept !== undefined) {
      if (kept.instance === instance && !kept.closed) {
        kept.setPresent(true, info); // back after a timeout: the call went on
        return kept;
      }
      this.#drop(kept, 'rejoined');
    }
    const peer = new Peer({
      signaling: this.#signaling,
      info,
      instance,
      configuration: { iceServers: [...this.#iceServers] },
      RTCPeerConnection: this.#RTCPeerConnection,
      channels: this.#options.channels ?? [],
      tracks: this.#tracks,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      ...(this.#options.polite !== undefined ? { polite: this.#options.polite } : {}),
      hooks: {
        open: (p, channel) => this.emit('open', { peer: p, channel }),
        message: (p, channel, value) => this.emit('message', { from: p, channel, value }),
        track: (p, track, streams) => this.emit('track', { from: p, track, streams }),
        state: (p, state) => {
          this.emit('connection-state', { peer: p, state });
          // A connection kept after its member timed out: once it breaks, nothing can repair it.
          if (!p.present && (state === 'failed' || state === 'closed')) this.#drop(p, 'failed');
        },
        error: (p, error) => this.emit('error', { peer: p, error }),
      },
    });
    if (this.#closed) {
      peer.close();
      return peer;
    }
    this.#peers.set(info.id, peer);
    this.emit('peer', peer);
    return peer;
  }

  #left(id: string, reason: SignalingLeaveReason): void {
    const peer = this.#peers.get(id);
    if (peer === undefined) return;
    if (reason === 'timeout' && peer.connectionState === 'connected') {
      peer.setPresent(false); // a relay outage must not end a working call
      return;
    }
    this.#drop(peer, reason);
  }

  #drop(peer: Peer, reason: PeerLeftReason): void {
    if (this.#peers.get(peer.id) !== peer) return;
    this.#peers.delete(peer.id);
    peer.close();
    this.emit('peer-left', { id: peer.id, peer, reason });
  }

  #closeAll(reason: PeerLeftReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of [...this.#peers.values()]) this.#drop(p, reason);
  }
}

function copy(servers: readonly RTCIceServer[]): RTCIceServer[] {
  return servers.map((s) => ({ ...s }));
}
