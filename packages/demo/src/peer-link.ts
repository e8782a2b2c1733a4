/**
 * One RTCPeerConnection with a chat data channel to one member of a room, negotiated with the "perfect
 * negotiation" pattern over any signaling that can send a description or an ICE candidate to a member id
 * (here a sealsig Room, docs/PROTOCOL.md §R: every offer, answer and candidate is sealed to that member).
 * The side whose member id sorts first is impolite: it wins offer collisions and opens the data channel.
 */
import type { IceCandidate, SessionDescription } from '@sealsig/core';

/** What the link needs from the signaling layer (Room has exactly these). */
export interface Signaling {
  sendDescription(memberId: string, description: SessionDescription): Promise<void>;
  sendCandidate(memberId: string, candidate: IceCandidate | null): Promise<void>;
}

export interface PeerLinkHooks {
  onOpen(): void;
  onClose(): void;
  onMessage(text: string): void;
  onError(message: string): void;
}

export class PeerLink {
  readonly pc: RTCPeerConnection;
  #makingOffer = false;
  #ignoreOffer = false;
  #pendingCandidates: (IceCandidate | null)[] = [];
  #channel: RTCDataChannel | undefined;
  readonly #polite: boolean;

  constructor(
    private readonly signaling: Signaling,
    selfId: string,
    readonly peerId: string,
    iceServers: RTCIceServer[],
    private readonly hooks: PeerLinkHooks,
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.#polite = selfId > peerId;
    this.pc.onicecandidate = ({ candidate }) => void this.#send(() => this.signaling.sendCandidate(peerId, candidate ? (candidate.toJSON() as IceCandidate) : null));
    this.pc.onnegotiationneeded = () => void this.#offer();
    this.pc.ondatachannel = ({ channel }) => this.#attach(channel);
    if (!this.#polite) this.#attach(this.pc.createDataChannel('chat'));
  }

  get open(): boolean {
    return this.#channel?.readyState === 'open';
  }

  /** Sends one chat line; false when the channel is not open. */
  send(text: string): boolean {
    if (!this.open) return false;
    this.#channel!.send(text);
    return true;
  }

  async onDescription(description: SessionDescription): Promise<void> {
    const collision = description.type === 'offer' && (this.#makingOffer || this.pc.signalingState !== 'stable');
    this.#ignoreOffer = !this.#polite && collision;
    if (this.#ignoreOffer) return;
    await this.pc.setRemoteDescription(description as RTCSessionDescriptionInit);
    for (const c of this.#pendingCandidates.splice(0)) await this.#addCandidate(c);
    if (description.type === 'offer') {
      await this.pc.setLocalDescription();
      await this.#send(() => this.signaling.sendDescription(this.peerId, this.pc.localDescription!.toJSON() as SessionDescription));
    }
  }

  async onCandidate(candidate: IceCandidate | null): Promise<void> {
    if (!this.pc.remoteDescription) {
      this.#pendingCandidates.push(candidate);
      return;
    }
    await this.#addCandidate(candidate);
  }

  close(): void {
    const wasOpen = this.open;
    this.pc.close();
    if (wasOpen) this.hooks.onClose();
  }

  #attach(channel: RTCDataChannel): void {
    this.#channel = channel;
    channel.onopen = () => this.hooks.onOpen();
    channel.onclose = () => this.hooks.onClose();
    channel.onmessage = ({ data }) => this.hooks.onMessage(String(data));
  }

  async #offer(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      await this.#send(() => this.signaling.sendDescription(this.peerId, this.pc.localDescription!.toJSON() as SessionDescription));
    } catch (e) {
      this.hooks.onError(`offer failed: ${String(e)}`);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #send(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (e) {
      if (this.pc.signalingState !== 'closed') this.hooks.onError(`signaling failed: ${String(e)}`);
    }
  }

  async #addCandidate(candidate: IceCandidate | null): Promise<void> {
    try {
      if (candidate) await this.pc.addIceCandidate(candidate as RTCIceCandidateInit);
    } catch (e) {
      if (!this.#ignoreOffer) this.hooks.onError(`addIceCandidate failed: ${String(e)}`);
    }
  }
}
