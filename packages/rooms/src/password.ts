/**
 * Password rooms (docs/PROTOCOL.md §R4): one CPace run (CPACE-RISTR255-SHA512, initiator = joiner) between
 * the joiner and the moderator, inside their lobby pairwise channel, then explicit key confirmation both ways.
 *
 *   CI        = lv_cat("sealsig/v2/rooms/cpace", lobby_topic, joiner_id, joiner_instance, moderator_id, moderator_instance)
 *   sid       = the join request's 16-byte nonce (fresh per run, chosen by the joiner)
 *   ISK       = CPace(PRS = password, CI, sid, Ya, ADa = "", Yb, ADb = "")
 *   confirm_m = KDF(ISK, "sealsig/v2/rooms/confirm-moderator", "", 32)     sent by the moderator with Yb
 *   confirm_j = KDF(ISK, "sealsig/v2/rooms/confirm-joiner",    "", 32)     sent by the joiner after checking confirm_m
 *
 * (ids and instances are the base64url strings, UTF-8.) Nothing derived from the password is ever sent except
 * Ya, Yb (uniformly random group elements whatever the password) and the confirmations, which are MACs under
 * ISK: to test a guess against them an attacker must have run CPace with that guess. One run, one guess.
 */
import { equalBytes, kdf, memzero, utf8 } from '@sealsig/core';
import { cpaceInitiator, cpaceResponder } from './cpace/protocol.js';
import { lvCat } from './cpace/strings.js';
import { RoomLabels } from './labels.js';

const EMPTY = new Uint8Array(0);

export interface CpaceEndpoints {
  lobbyTopic: string;
  joinerId: string;
  joinerInstance: string;
  moderatorId: string;
  moderatorInstance: string;
}

/** §R4 The CPace channel identifier. */
export function cpaceChannelId(e: CpaceEndpoints): Uint8Array {
  return lvCat(utf8(RoomLabels.cpaceChannel), utf8(e.lobbyTopic), utf8(e.joinerId), utf8(e.joinerInstance), utf8(e.moderatorId), utf8(e.moderatorInstance));
}

/** §R4 confirm_m and confirm_j from the ISK. Zeroes `isk` (pass a copy to keep it). */
export function confirmationsFromIsk(isk: Uint8Array): { moderator: Uint8Array; joiner: Uint8Array } {
  const out = { moderator: kdf(isk, RoomLabels.confirmModerator, EMPTY, 32), joiner: kdf(isk, RoomLabels.confirmJoiner, EMPTY, 32) };
  memzero(isk);
  return out;
}

/** The joiner's side: its share now; then, given the moderator's answer, its confirmation and whether confirm_m matched. */
export async function joinerCpace(password: string, channel: CpaceEndpoints, nonce: Uint8Array) {
  const party = await cpaceInitiator({ password, ci: cpaceChannelId(channel), sid: nonce });
  return {
    share: party.message,
    /**
     * Throws E_AUTH_FAILED for an invalid share. `ok` is false when confirm_m does not match (a wrong password);
     * `confirm` is sent either way, so that the moderator settles the attempt at once instead of waiting.
     */
    answer(moderatorShare: Uint8Array, moderatorConfirm: Uint8Array): { ok: boolean; confirm: Uint8Array } {
      const c = confirmationsFromIsk(party.finish(moderatorShare).isk);
      return { ok: equalBytes(c.moderator, moderatorConfirm), confirm: c.joiner };
    },
    /** Erases the scalar if the run never got an answer. */
    destroy: () => party.destroy(),
  };
}

/** The moderator's side: its share and confirmation, and the joiner confirmation it expects. */
export async function moderatorCpace(password: string, channel: CpaceEndpoints, nonce: Uint8Array, joinerShare: Uint8Array) {
  const party = await cpaceResponder({ password, ci: cpaceChannelId(channel), sid: nonce });
  const c = confirmationsFromIsk(party.finish(joinerShare).isk);
  return { share: party.message, confirm: c.moderator, expected: c.joiner };
}
