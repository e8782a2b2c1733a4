/**
 * The joiner's side of the lobby (docs/PROTOCOL.md §R3, §R4): find the certified moderator, send the join
 * request (retransmitted until answered), run the password check, and wait for the decision.
 */
import { Session, SealsigError, equalBytes, randomBytes, type ErrorCode, type PeerInfo, type SessionOptions } from '@sealsig/core';
import { forks, isCertifiedModerator, isPrefix, type ChainPin } from './chain.js';
import type { Invite } from './invite.js';
import { grantOf } from './invite-grant.js';
import { descriptorIdOf } from './labels.js';
import { escalateWork, lobbyMeta } from './lobby-door.js';
import { joinerCpace } from './password.js';
import { NONCE_BYTES, Tag, fromWire, toWire, type ChainLink, type Message, type RejectCode, type RoomState } from './wire.js';

export interface AdmissionOptions {
  name: string;
  appData: unknown;
  password: string | undefined;
  timeoutMs: number;
  retryMs: number;
  /** The joiner's own Ed25519 public key: the state it is handed must list it. */
  ownKey: Uint8Array;
  /**
   * Whom to ask (§R6): the pinned key, or the end of a chain verified from it. A joiner pins its invite's key
   * and chain index; a member resynchronising pins the moderator its own state names, so a former moderator
   * (still holding the key an old invite pins) is never asked and its answers are never taken.
   */
  pin: ChainPin;
  /** Links after the pin must have been made after this state version (a member's own; -1 for a joiner). */
  after: number;
  /** Called at the moderator's first answer (our hello got in: no more admission work is needed). */
  answered?: () => void;
}

export interface Admission {
  roomSessionId: string;
  state: RoomState;
  moderator: PeerInfo;
}

/**
 * Resolves once admitted; rejects with E_ACCESS_DENIED, E_WRONG_PASSWORD, E_RATE_LIMITED, E_TIMEOUT, or for the
 * invite-codes of §R3, E_STALE (expired), E_ACCESS_DENIED (revoked) or E_AUTH_FAILED (not accepted as signed).
 */
export function requestAdmission(lobby: Session, invite: Invite, o: AdmissionOptions): Promise<Admission> {
  return new Promise<Admission>((resolve, reject) => {
    let nonce = randomBytes(NONCE_BYTES);
    const chains: ChainLink[][] = []; // every verified chain heard, for fork detection (§R6)
    const descriptorId = descriptorIdOf(invite.sessionId);
    let moderator: PeerInfo | undefined;
    let moderatorChain: ChainLink[] = [];
    let cpace: Awaited<ReturnType<typeof joinerCpace>> | undefined;
    let pending: Message | undefined; // what we (re)send until the next answer
    let done = false;
    const finish = (error: SealsigError | undefined, value?: Admission) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(retry);
      cpace?.destroy();
      lobby.off('peer-joined', onPeer);
      lobby.off('message', onMessage);
      if (error) reject(error);
      else resolve(value!);
    };
    const deadline = setTimeout(() => finish(new SealsigError('E_TIMEOUT', 'no answer from the moderator in time')), o.timeoutMs);
    const retry = setInterval(() => void sendPending(), o.retryMs);

    const sendPending = async () => {
      if (done || moderator === undefined || pending === undefined) return;
      await lobby.send(moderator.id, toWire(pending)).catch(() => {}); // retried; a lost peer is caught by the deadline
    };

    const choose = async (peer: PeerInfo, chain: ChainLink[]) => {
      // Announcements repeat: the moderator we already talk to changes nothing (a new share under the same
      // nonce would not match the challenge the moderator already answered).
      if (moderator !== undefined && peer.id === moderator.id && peer.instance === moderator.instance) return;
      if (moderator !== undefined && peer.id !== moderator.id && chain.length <= moderatorChain.length) return;
      moderator = peer;
      moderatorChain = chain;
      const runNonce = randomBytes(NONCE_BYTES); // one run, one sid (CPace)
      nonce = runNonce;
      pending = undefined; // nothing to (re)send until this run's share is ready
      cpace?.destroy();
      cpace = undefined;
      const run = o.password === undefined ? undefined : await joinerCpace(o.password, channel(peer), runNonce);
      if (nonce !== runNonce || done) return run?.destroy(); // another moderator was chosen while we computed: drop this run
      cpace = run;
      // §R2 The invite's grant: the moderator checks it first (a listed member's is not needed, but harmless).
      pending = { tag: Tag.joinRequest, nonce: runNonce, name: o.name, appData: o.appData, share: run?.share ?? null, grant: grantOf(invite) };
      await sendPending();
    };
    const channel = (peer: PeerInfo) => ({ lobbyTopic: lobby.topic, joinerId: lobby.id, joinerInstance: lobby.instance, moderatorId: peer.id, moderatorInstance: peer.instance });

    /** §R6 `chain` certifies `key` from the pin, with every link after it made after o.after. */
    const certified = (key: Uint8Array, chain: ChainLink[]) => isCertifiedModerator(key, chain, descriptorId, o.pin, o.after);
    /** §R6 Two verified chains, neither a prefix of the other: a former moderator signed a second successor. */
    const forked = (chain: ChainLink[]) => {
      for (const c of chains) if (forks(c, chain)) return true;
      if (!chains.some((c) => isPrefix(chain, c) && isPrefix(c, chain))) chains.push(chain);
      return false;
    };
    const onPeer = (peer: PeerInfo) => {
      // The pinned key at index 0 needs no announcement; a later pin announces its chain (lobby-desk.ts).
      if (o.pin.index === 0 && equalBytes(peer.signingKey, o.pin.key)) void choose(peer, []).catch((e) => finish(asError(e)));
    };
    const onMessage = ({ from, value, broadcast }: { from: PeerInfo; value: unknown; broadcast: boolean }) => {
      try {
        const m = fromWire(value);
        if (broadcast) {
          if (m.tag !== Tag.moderator) return;
          if (!certified(from.signingKey, m.chain)) return;
          if (forked(m.chain)) {
            return finish(new SealsigError('E_ACCESS_DENIED', 'fork: two moderator chains from the pinned key, neither extending the other; ask the current moderator for a new invite'));
          }
          void choose(from, m.chain).catch((e) => finish(asError(e)));
          return;
        }
        if (from.id !== moderator?.id || !('nonce' in m) || !equalBytes(m.nonce, nonce)) return;
        o.answered?.(); // the moderator knows us: our hello needs no more admission work (lobby-door.ts)
        if (m.tag === Tag.joinChallenge) {
          if (cpace === undefined || pending?.tag !== Tag.joinRequest) return;
          const { ok, confirm } = cpace.answer(m.share, m.confirm);
          pending = { tag: Tag.joinConfirm, nonce, confirm };
          void sendPending();
          if (!ok) finish(new SealsigError('E_WRONG_PASSWORD', 'the password does not match the room'));
        } else if (m.tag === Tag.joinAccepted) {
          const s = m.state;
          if (!s.members.some((x) => equalBytes(x.key, o.ownKey)) || !equalBytes(s.moderator, from.signingKey)) {
            return finish(new SealsigError('E_FRAME_MALFORMED', 'the admission does not list this member or its moderator'));
          }
          finish(undefined, { roomSessionId: m.roomSessionId, state: s, moderator: from });
        } else if (m.tag === Tag.joinRejected) {
          finish(rejection(m.code, m.reason, from.signingKey));
        }
      } catch (e) {
        if (from.id === moderator?.id) finish(asError(e));
      }
    };
    lobby.on('peer-joined', onPeer);
    lobby.on('message', onMessage);
    for (const p of lobby.peers) onPeer(p);
  });
}

/** §R3 The error a `join-rejected` answer becomes, carrying the code and reason (`rejectCode`, `reason`, `rejectedBy`). */
function rejection(code: RejectCode, reason: string, by: Uint8Array): SealsigError {
  const error: ErrorCode =
    code === 'wrong-password' ? 'E_WRONG_PASSWORD'
    : code === 'rate-limited' ? 'E_RATE_LIMITED'
    : code === 'timeout' ? 'E_TIMEOUT'
    : code === 'invite-expired' ? 'E_STALE'
    : code === 'invite-invalid' ? 'E_AUTH_FAILED'
    : 'E_ACCESS_DENIED';
  return Object.assign(new SealsigError(error, reason), { reason, rejectCode: code, rejectedBy: by.slice() });
}

function asError(e: unknown): SealsigError {
  return e instanceof SealsigError ? e : new SealsigError('E_FRAME_MALFORMED', 'join failed', { cause: e });
}

/**
 * Enters the lobby, asks for admission and leaves the lobby again, whatever the outcome. The listeners are in
 * place before the lobby session starts, so nothing the moderator says in reply to our hello is missed.
 */
export async function admitThroughLobby(lobbyOptions: SessionOptions, invite: Invite, o: AdmissionOptions): Promise<Admission> {
  // §R3 Our hello shows our invite's grant: the moderator's door queues it by invite (lobby-door.ts).
  const lobby = new Session({ ...lobbyOptions, meta: lobbyMeta(invite) });
  let waiting = true;
  const stop = escalateWork(lobby, () => waiting);
  try {
    const pending = requestAdmission(lobby, invite, { ...o, answered: () => (waiting = false) });
    await lobby.start();
    return await pending;
  } finally {
    stop();
    await lobby.close();
  }
}
