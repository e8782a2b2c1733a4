/**
 * Opening a room: createRoom(), whose caller is the first moderator with the room's first state (docs/PROTOCOL.md
 * §R5.1) and the first invite (§R2), and joinRoom(), which asks the moderator through the lobby (§R3, §R4) and
 * enters the room session with the state it is handed.
 */
import { SealsigError, Session, createSessionId, randomBytes, ready } from '@sealsig/core';
import { passwordToPrs } from './cpace/protocol.js';
import { checkInviteFresh, encodeInvite, parseInvite, type Invite } from './invite.js';
import { inviteSignatureValid, issueInvite } from './invite-grant.js';
import { admitThroughLobby } from './join.js';
import { checkIce, checkInviteOptions, checkName, copyIdentity, eraseIdentity, type CreateRoomOptions, type JoinRoomOptions } from './options.js';
import { Room } from './room.js';
import type { RoomState } from './wire.js';

/** §R Creates a room: this member is its moderator. Share `room.invite`. */
export async function createRoom(options: CreateRoomOptions): Promise<Room> {
  await ready();
  const name = checkName(options.name);
  checkInviteOptions(options.moderation);
  if (options.password !== undefined) {
    if (typeof options.password !== 'string') throw new SealsigError('E_INVALID_ARGUMENT', 'a room password must be a string');
    passwordToPrs(options.password); // 1..1024 bytes, or E_INVALID_ARGUMENT
  }
  const identity = copyIdentity(options.identity);
  const roomSessionId = createSessionId();
  const state: RoomState = {
    version: 1,
    epoch: 1,
    roomKey: randomBytes(32),
    moderator: identity.signing.publicKey.slice(),
    members: [{ key: identity.signing.publicKey.slice(), name }],
    iceServers: checkIce(options.iceServers ?? []),
    chain: [],
    banned: [],
    revoked: [],
  };
  const invite = issueInvite(createSessionId(), state.moderator, 0, options.password !== undefined, identity.signing.privateKey, options.moderation?.inviteTtlMs);
  const session = new Session({ ...options.session, sessionId: roomSessionId, transport: options.transport, identity, epoch: { epoch: 1, roomKey: state.roomKey } });
  return startRoom(new Room({ session, invite, roomSessionId, identity, state, password: options.password, name, options }));
}

/** §R3 Joins through an invite: asks the moderator, proves the password, and enters the room once admitted. */
export async function joinRoom(options: JoinRoomOptions): Promise<Room> {
  await ready();
  // A parsed invite is checked as its text would be (E_INVALID_ARGUMENT): an object from elsewhere may lack fields.
  const given: unknown = options.invite;
  if (typeof given !== 'string' && (given === null || typeof given !== 'object')) throw new SealsigError('E_INVALID_ARGUMENT', 'invite must be a string or a parsed Invite');
  const invite = parseInvite(typeof given === 'string' ? given : encodeInvite(given as Invite));
  checkInviteOptions(options.moderation); // this member may moderate later (§R6)
  checkInviteFresh(invite); // E_STALE: an old invite may pin a former moderator (§R6)
  // §R2 An edited copy (a later expiry re-encoded, say) would be refused by the moderator: refuse it before anything is sent.
  if (!inviteSignatureValid(invite)) throw new SealsigError('E_AUTH_FAILED', 'the invite signature does not verify: it was altered; ask the moderator for a new one');
  if (invite.passwordRequired && (typeof options.password !== 'string' || options.password.length === 0)) {
    throw new SealsigError('E_INVALID_ARGUMENT', 'this room needs a password');
  }
  const name = checkName(options.name);
  const identity = copyIdentity(options.identity);
  let admission;
  try {
    admission = await admitThroughLobby({ ...options.session, sessionId: invite.sessionId, transport: options.transport, identity }, invite, {
      name,
      appData: options.appData ?? null,
      password: invite.passwordRequired ? options.password : undefined,
      timeoutMs: options.timeoutMs ?? 60_000,
      retryMs: options.retryMs ?? 1_000,
      ownKey: identity.signing.publicKey,
      pin: { key: invite.moderatorKey, index: invite.chainIndex },
      after: -1,
    });
  } catch (e) {
    eraseIdentity(identity);
    throw e;
  }
  const { roomSessionId, state } = admission;
  const session = new Session({ ...options.session, sessionId: roomSessionId, transport: options.transport, identity, epoch: { epoch: state.epoch, roomKey: state.roomKey } });
  return startRoom(new Room({ session, invite, roomSessionId, identity, state, password: options.password, name, options }));
}

async function startRoom(room: Room): Promise<Room> {
  try {
    await room.start();
  } catch (e) {
    await room.close().catch(() => {}); // erases the keys
    throw e;
  }
  return room;
}
