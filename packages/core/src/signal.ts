/**
 * The WebRTC signaling shapes sealsig carries as typed direct messages (docs/PROTOCOL.md §7.4): an
 * RTCSessionDescriptionInit and an RTCIceCandidateInit, without a dependency on DOM types, and the strict
 * checks a receiver applies before handing them to the app.
 */

/** RTCSessionDescriptionInit, without a dependency on DOM types. */
export interface SessionDescription {
  /** What the description is. */
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  /** The SDP. */
  sdp?: string;
}

/** RTCIceCandidateInit, without a dependency on DOM types. */
export interface IceCandidate {
  /** The candidate line. */
  candidate?: string;
  /** Media stream identification tag. */
  sdpMid?: string | null;
  /** Index of the m-line. */
  sdpMLineIndex?: number | null;
  /** ICE username fragment. */
  usernameFragment?: string | null;
}

const DESCRIPTION_TYPES = new Set(['offer', 'answer', 'pranswer', 'rollback']);

/** A decoded msgpack map: a plain object (not an array, a bin or a timestamp). */
function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

export function isDescription(v: unknown): v is SessionDescription {
  if (!isMap(v)) return false;
  const d = v;
  return typeof d.type === 'string' && DESCRIPTION_TYPES.has(d.type) && (d.sdp === undefined || typeof d.sdp === 'string');
}

export function isCandidate(v: unknown): v is IceCandidate {
  if (!isMap(v)) return false;
  const c = v;
  const optString = (x: unknown) => x === undefined || x === null || typeof x === 'string';
  return (
    (c.candidate === undefined || typeof c.candidate === 'string') &&
    optString(c.sdpMid) &&
    optString(c.usernameFragment) &&
    (c.sdpMLineIndex === undefined || c.sdpMLineIndex === null || (Number.isSafeInteger(c.sdpMLineIndex) && (c.sdpMLineIndex as number) >= 0))
  );
}

/** Copies only the RTCIceCandidateInit fields (an RTCIceCandidate object also works, via its getters). */
export function pickCandidate(c: IceCandidate): IceCandidate {
  const out: IceCandidate = {};
  if (c.candidate !== undefined) out.candidate = c.candidate;
  if (c.sdpMid !== undefined) out.sdpMid = c.sdpMid;
  if (c.sdpMLineIndex !== undefined) out.sdpMLineIndex = c.sdpMLineIndex;
  if (c.usernameFragment !== undefined) out.usernameFragment = c.usernameFragment;
  return out;
}
