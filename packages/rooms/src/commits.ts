/**
 * Commits as differences (docs/PROTOCOL.md §R5.2): the moderator describes each new room state by what changed
 * since the one before, so a member already in the room reads O(1) bytes per join instead of the whole roster.
 * Both sides compute the next state with the same function, `applyChange`; a member that cannot (a gap, an
 * impossible change) keeps its state and asks for the whole one again.
 */
import { SealsigError, decodeCanonical, encodeCanonical, equalBytes } from '@sealsig/core';
import { chainEnd, isCertifiedSuccessor } from './chain.js';
import { MAX_BANNED, MAX_MEMBERS, decodeChange, encodeChange, type ChainLink, type IceServer, type RevokedInvite, type RoomState, type StateChange } from './wire.js';

/** What the moderator wants changed; `commit` turns it into a StateChange. */
export interface Edit {
  add?: { key: Uint8Array; name: string }[];
  remove?: Uint8Array[];
  ban?: { key: Uint8Array; reason: string }[];
  iceServers?: IceServer[];
  link?: ChainLink;
  /** The whole new list of revoked invites (§R5.1). */
  revoked?: RevokedInvite[];
  /** A new epoch and room key (kick, rotation). */
  roomKey?: Uint8Array;
}

function bad(what: string): never {
  throw new SealsigError('E_FRAME_MALFORMED', `rooms: state change ${what}`);
}

/**
 * §R5.2 The change that takes `state` one version on: a private copy, through the wire decoder members use,
 * so nothing is committed that they would refuse (E_FRAME_MALFORMED otherwise).
 */
export function changeOf(state: RoomState, e: Edit): StateChange {
  return decodeChange(decodeCanonical(encodeCanonical(encodeChange({
    version: state.version + 1,
    epoch: e.roomKey === undefined ? state.epoch : state.epoch + 1,
    roomKey: e.roomKey ?? null,
    link: e.link ?? null,
    add: e.add ?? [],
    remove: e.remove ?? [],
    ban: e.ban ?? [],
    iceServers: e.iceServers ?? null,
    revoked: e.revoked ?? null,
  }))));
}

/**
 * §R5.2 The state after `change`, a private copy checked by the wire decoder; E_FRAME_MALFORMED if the change
 * does not follow `state` (wrong version or epoch, a key without a new epoch or the reverse, a member added
 * twice or removed without being listed, a link that is not the next one, the roster empty or over its bound).
 * The link's signature is the caller's to check (chain.ts): it needs the room's descriptor id.
 */
export function applyChange(state: RoomState, c: StateChange): RoomState {
  if (c.version !== state.version + 1) bad(`version ${c.version} does not follow ${state.version}`);
  const rotates = c.epoch !== state.epoch;
  if (rotates && c.epoch !== state.epoch + 1) bad(`epoch ${c.epoch} does not follow ${state.epoch}`);
  if (rotates !== (c.roomKey !== null)) bad('carries a room key exactly when the epoch changes');
  if (c.link !== null && (c.link.version !== c.version || c.link.epoch !== c.epoch)) bad('link not made at this version and epoch');
  const listed = (k: Uint8Array, list: { key: Uint8Array }[]) => list.some((m) => equalBytes(m.key, k));
  let members = state.members;
  for (const k of c.remove) {
    if (!listed(k, members)) bad('removes a key that is not listed');
    members = members.filter((m) => !equalBytes(m.key, k));
  }
  for (const m of c.add) {
    if (listed(m.key, members)) bad('adds a key that is listed');
    members = [...members, m];
  }
  if (members.length === 0 || members.length > MAX_MEMBERS) bad(`leaves ${members.length} members`);
  const moderator = c.link?.key ?? state.moderator;
  if (!listed(moderator, members)) bad('leaves a moderator that is not a member');
  const banned = c.ban.length === 0 ? state.banned : [...state.banned.filter((b) => !listed(b.key, c.ban)), ...c.ban].slice(-MAX_BANNED);
  // O(size of the change) beyond copying the lists' references: what a member does per join (§R5.2). The
  // parts taken from the change are copies; an epoch's room key is one buffer from state to state, replaced
  // (and the old one erased, replica.ts) only when the epoch changes.
  return {
    version: c.version,
    epoch: c.epoch,
    roomKey: c.roomKey === null ? state.roomKey : c.roomKey.slice(),
    moderator,
    members,
    iceServers: c.iceServers ?? state.iceServers,
    chain: c.link === null ? state.chain : [...state.chain, c.link],
    banned,
    revoked: c.revoked ?? state.revoked,
  };
}

/**
 * §R5.2 What a member holding `state` does with `change` from `sender` (an Ed25519 key; `broadcast`: it came
 * as a core broadcast): the next state, or undefined when the change does not follow its state (a duplicate
 * or a gap: the member only acknowledges its own version and the moderator repairs). In this order:
 * E_ACCESS_DENIED unless `sender` is the state's moderator or the successor the change's link names;
 * E_FRAME_MALFORMED for a room key in a broadcast; undefined unless version = state.version + 1;
 * E_AUTH_FAILED for a link that does not verify from the member's pin (its moderator, at its chain's length);
 * then applyChange's rules (E_FRAME_MALFORMED). Whether the result still lists the member is the caller's.
 */
export function receiveChange(state: RoomState, change: StateChange, sender: Uint8Array, broadcast: boolean, descriptorId: Uint8Array): RoomState | undefined {
  const fromSuccessor = change.link !== null && equalBytes(sender, change.link.key);
  if (!equalBytes(sender, state.moderator) && !fromSuccessor) throw new SealsigError('E_ACCESS_DENIED', 'state change from a member that is not the moderator');
  if (broadcast && change.roomKey !== null) throw new SealsigError('E_FRAME_MALFORMED', 'rooms: a room key in a broadcast');
  if (change.version !== state.version + 1) return undefined; // a duplicate, or a gap the moderator repairs
  if (change.link !== null) {
    // §R6 The next link, signed by our moderator at this version: chainEnd checks it from our pin.
    const end = chainEnd([...state.chain, change.link], descriptorId, { key: state.moderator, index: state.chain.length });
    if (end === undefined) throw new SealsigError('E_AUTH_FAILED', 'rooms: transfer link does not verify');
  }
  return applyChange(state, change);
}

/**
 * §R5 What a member holding `own` does with a whole `state` from `sender`: E_ACCESS_DENIED unless `sender` is
 * own's moderator or a successor certified after own (chain.ts isCertifiedSuccessor); the state if it is newer
 * than own, else undefined (the member only acknowledges its own version). Whether it lists the member is the caller's.
 */
export function receiveState(own: RoomState, state: RoomState, sender: Uint8Array, descriptorId: Uint8Array): RoomState | undefined {
  if (!equalBytes(sender, own.moderator) && !isCertifiedSuccessor(own, state, sender, descriptorId)) {
    throw new SealsigError('E_ACCESS_DENIED', 'room state from a member that is not the moderator');
  }
  return state.version > own.version ? state : undefined;
}
