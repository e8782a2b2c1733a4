/**
 * @sealsig/webrtc: RTCPeerConnections to every member of a sealsig session or room, signaled through it
 * (perfect negotiation), with named JSON data channels, media tracks, ICE restart and leave semantics that
 * survive a relay outage.
 */
export { connectPeers, Peers } from './peers.js';
export type { ConnectPeersOptions, PeerLeftReason, PeersEvents } from './peers.js';
export { Peer } from './peer.js';
export type { PeerIdentity, Signaling, SignalingEvents, SignalingLeaveReason } from './signaling.js';
