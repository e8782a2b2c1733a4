/**
 * A fake RTCPeerConnection for unit tests of the negotiation logic only (never for the browser tests): the
 * signaling state machine of W3C WebRTC §4.3 (implicit rollback of a local offer on a remote offer, answer
 * only in have-local-offer), negotiationneeded when channels or tracks are added or ICE restarts (an offer
 * that restarts ICE gives the answerer new credentials too), one ICE candidate per local description, and a "connection" between two fakes once both are stable with each
 * other's descriptions and a candidate: then negotiated data channels with equal ids open and carry
 * strings, and tracks named in a remote description fire 'track'. `breakConnection()` makes it 'failed'.
 */
const registry = new Map<string, FakeRTCPeerConnection>();
let nextId = 0;

interface FakeSdp {
  pc: string;
  ice: number;
  channels: number[];
  tracks: { id: string; streams: string[] }[];
}

/** Dispatches an Event of `type` carrying `fields` (as RTCPeerConnection's and RTCDataChannel's events do). */
function fire(target: EventTarget, type: string, fields: Record<string, unknown> = {}): void {
  target.dispatchEvent(Object.assign(new Event(type), fields));
}

export class FakeDataChannel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting';
  remote: FakeDataChannel | undefined;
  readonly sent: string[] = [];
  constructor(
    readonly label: string,
    readonly id: number,
  ) {
    super();
  }
  send(data: string): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: channel not open');
    this.sent.push(data);
    const remote = this.remote;
    setTimeout(() => remote?.readyState === 'open' && fire(remote, 'message', { data }), 0);
  }
  open(remote: FakeDataChannel): void {
    if (this.readyState !== 'connecting') return;
    this.remote = remote;
    this.readyState = 'open';
    fire(this, 'open');
  }
  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed'; // no event: as for pc.close() in browsers
  }
}

export class FakeTrack {
  constructor(readonly id: string) {}
}
export class FakeStream {
  constructor(
    readonly id: string,
    readonly tracks: FakeTrack[] = [],
  ) {}
  getTracks(): FakeTrack[] {
    return [...this.tracks];
  }
}

export class FakeRTCPeerConnection extends EventTarget {
  static all: FakeRTCPeerConnection[] = [];
  static reset(): void {
    registry.clear();
    FakeRTCPeerConnection.all = [];
  }

  readonly uid = `pc${nextId++}`;
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: { type: RTCSdpType; sdp: string } | null = null;
  remoteDescription: { type: RTCSdpType; sdp: string } | null = null;
  configuration: RTCConfiguration;
  /** Every step, for assertions: 'offer', 'answer', 'rollback', 'restartIce', 'candidate-added', ... */
  readonly log: string[] = [];
  readonly channels: FakeDataChannel[] = [];
  readonly senders = new Map<string, { track: FakeTrack; streams: FakeStream[] }>();
  #ice = 0;
  #remoteIce = -1;
  #remotePc: string | undefined;
  #remoteCandidateIce = -1;
  #negotiated = ''; // the FakeSdp content of the last completed exchange
  #seenTracks = new Set<string>();
  #nnQueued = false;

  constructor(configuration: RTCConfiguration = {}) {
    super();
    this.configuration = configuration;
    registry.set(this.uid, this);
    FakeRTCPeerConnection.all.push(this);
  }

  getConfiguration(): RTCConfiguration {
    return this.configuration;
  }
  setConfiguration(c: RTCConfiguration): void {
    this.configuration = c;
    this.log.push(`configure:${JSON.stringify(c.iceServers ?? [])}`);
  }

  createDataChannel(label: string, init: RTCDataChannelInit = {}): FakeDataChannel {
    if (!init.negotiated || init.id === undefined) throw new Error('the fake supports negotiated channels only');
    const c = new FakeDataChannel(label, init.id);
    this.channels.push(c);
    this.#changed();
    return c;
  }

  addTrack(track: FakeTrack, ...streams: FakeStream[]): { track: FakeTrack } {
    this.senders.set(track.id, { track, streams });
    this.#changed();
    return { track };
  }

  removeTrack(sender: { track: FakeTrack }): void {
    this.senders.delete(sender.track.id);
    this.#changed();
  }

  restartIce(): void {
    this.log.push('restartIce');
    this.#ice++;
    this.#changed();
  }

  async setLocalDescription(d?: { type: RTCSdpType }): Promise<void> {
    await tick();
    this.#open();
    if (d?.type === 'rollback') return this.#rollback();
    if (this.signalingState === 'stable' || this.signalingState === 'have-local-offer') {
      this.localDescription = { type: 'offer', sdp: this.#sdp() };
      this.signalingState = 'have-local-offer';
      this.log.push('offer');
    } else if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: this.#sdp() };
      this.signalingState = 'stable';
      this.log.push('answer');
      this.#stable();
    } else throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    const ice = this.#ice;
    const uid = this.uid;
    setTimeout(() => {
      if (this.connectionState === 'closed') return;
      fire(this, 'icecandidate', { candidate: { toJSON: () => ({ candidate: `candidate:${uid}:${ice}`, sdpMid: '0', sdpMLineIndex: 0 }) } });
      fire(this, 'icecandidate', { candidate: null });
    }, 0);
  }

  async setRemoteDescription(d: { type: RTCSdpType; sdp?: string }): Promise<void> {
    await tick();
    this.#open();
    if (d.type === 'rollback') return this.#rollback();
    const sdp = JSON.parse(d.sdp ?? '') as FakeSdp;
    if (d.type === 'offer') {
      if (this.signalingState === 'have-local-offer') {
        this.log.push('rollback');
        this.signalingState = 'stable'; // implicit rollback
      }
      if (this.signalingState !== 'stable') throw new Error(`InvalidStateError: remote offer in ${this.signalingState}`);
      this.signalingState = 'have-remote-offer';
    } else if (d.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new Error(`InvalidStateError: remote answer in ${this.signalingState}`);
      this.signalingState = 'stable';
    }
    // An offer restarting ICE (new remote credentials): the answer gets new local ones too (RFC 8445 §9).
    if (d.type === 'offer' && this.#remotePc === sdp.pc && this.#remoteIce !== -1 && sdp.ice !== this.#remoteIce) this.#ice++;
    this.remoteDescription = { type: d.type, sdp: d.sdp ?? '' };
    this.#remotePc = sdp.pc;
    this.#remoteIce = sdp.ice;
    for (const t of sdp.tracks) {
      if (this.#seenTracks.has(t.id)) continue;
      this.#seenTracks.add(t.id);
      const owner = registry.get(sdp.pc)?.senders.get(t.id);
      if (owner) fire(this, 'track', { track: owner.track, streams: owner.streams });
    }
    if (this.signalingState === 'stable') this.#stable();
  }

  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    await tick();
    this.#open();
    if (this.remoteDescription === null) throw new Error('InvalidStateError: no remote description');
    const [, pc, ice] = (c.candidate ?? '').split(':');
    if (pc !== this.#remotePc || Number(ice) !== this.#remoteIce) throw new Error(`OperationError: candidate ${c.candidate} does not match the remote description`);
    this.log.push('candidate-added');
    this.#remoteCandidateIce = Number(ice);
    this.#maybeConnect();
  }

  close(): void {
    if (this.connectionState === 'closed') return;
    this.signalingState = 'closed';
    this.connectionState = 'closed'; // no event: as in browsers, close() does not fire connectionstatechange
    for (const c of this.channels) c.close();
  }

  /** Test hook: the network path broke. */
  breakConnection(): void {
    this.#setState('failed');
  }

  #open(): void {
    if (this.signalingState === 'closed') throw new Error('InvalidStateError: closed');
  }

  #rollback(): void {
    this.log.push('rollback');
    this.signalingState = 'stable';
    this.localDescription = null;
  }

  #sdp(): string {
    const sdp: FakeSdp = {
      pc: this.uid,
      ice: this.#ice,
      channels: this.channels.map((c) => c.id),
      tracks: [...this.senders.values()].map(({ track, streams }) => ({ id: track.id, streams: streams.map((s) => s.id) })),
    };
    return JSON.stringify(sdp);
  }

  #stable(): void {
    const local = JSON.parse(this.localDescription?.sdp ?? '{}') as Partial<FakeSdp>;
    this.#negotiated = JSON.stringify({ ...local, pc: undefined });
    this.#maybeConnect();
    this.#changed();
  }

  #changed(): void {
    if (this.#nnQueued) return;
    this.#nnQueued = true;
    setTimeout(() => {
      this.#nnQueued = false;
      if (this.signalingState !== 'stable') return; // fires again once stable
      const wanted = JSON.stringify({ ...(JSON.parse(this.#sdp()) as FakeSdp), pc: undefined });
      if (wanted !== this.#negotiated) fire(this, 'negotiationneeded');
    }, 0);
  }

  #maybeConnect(): void {
    if (this.signalingState !== 'stable' || this.localDescription === null || this.remoteDescription === null) return;
    if (this.#remoteCandidateIce !== this.#remoteIce) return;
    const remote = registry.get(this.#remotePc ?? '');
    if (remote === undefined || remote.connectionState === 'closed') return;
    if (this.connectionState !== 'connected') this.#setState('connected');
    if (remote.connectionState === 'connected' && remote.#remotePc === this.uid) {
      for (const c of this.channels) {
        const r = remote.channels.find((x) => x.id === c.id);
        if (r) {
          c.open(r);
          r.open(c);
        }
      }
    }
  }

  #setState(s: RTCPeerConnectionState): void {
    this.connectionState = s;
    fire(this, 'connectionstatechange');
  }
}

function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

export const FakeRTC = FakeRTCPeerConnection as unknown as typeof RTCPeerConnection;
