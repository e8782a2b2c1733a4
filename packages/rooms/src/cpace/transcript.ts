/**
 * Transcripts, ISK and sid_output of draft-irtf-cfrg-cpace (§"CPace protocol instructions" and the appendix
 * definitions of transcript_ir / transcript_oc).
 *
 * - Initiator-responder ("IR"): the order of messages is fixed by the flow, transcript_ir = lv_cat(Ya, ADa) ||
 *   lv_cat(Yb, ADb).
 * - Symmetric ("SY", parallel): no roles, transcript_oc = o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)), the same
 *   bytes whichever side computes it.
 */
import { DSI, hash } from './group.js';
import { concat, lvCat, oCat, utf8 } from './strings.js';

const DSI_ISK = concat(DSI, utf8('_ISK'));
const SID_OUTPUT_LABEL = utf8('CPaceSidOutput');

/** transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb). */
export function transcriptIr(Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return concat(lvCat(Ya, ADa), lvCat(Yb, ADb));
}

/** transcript_oc(Ya, ADa, Yb, ADb) = o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)). */
export function transcriptOc(Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return oCat(lvCat(Ya, ADa), lvCat(Yb, ADb));
}

/** ISK = H.hash(lv_cat(G.DSI || "_ISK", sid, K) || transcript). */
export function deriveIsk(sid: Uint8Array, K: Uint8Array, transcript: Uint8Array): Uint8Array {
  return hash(concat(lvCat(DSI_ISK, sid, K), transcript));
}

/** ISK of the initiator-responder setting. */
export function iskIr(sid: Uint8Array, K: Uint8Array, Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return deriveIsk(sid, K, transcriptIr(Ya, ADa, Yb, ADb));
}

/** ISK of the symmetric setting. */
export function iskSy(sid: Uint8Array, K: Uint8Array, Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return deriveIsk(sid, K, transcriptOc(Ya, ADa, Yb, ADb));
}

/**
 * sid_output = H.hash("CPaceSidOutput" || transcript): a session identifier both parties can derive from the
 * run itself, for applications that had no sid beforehand. It is public (no K in it).
 */
export function sidOutputIr(Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return hash(concat(SID_OUTPUT_LABEL, transcriptIr(Ya, ADa, Yb, ADb)));
}

/** sid_output of the ordered-concatenation (symmetric) variant. */
export function sidOutputOc(Ya: Uint8Array, ADa: Uint8Array, Yb: Uint8Array, ADb: Uint8Array): Uint8Array {
  return hash(concat(SID_OUTPUT_LABEL, transcriptOc(Ya, ADa, Yb, ADb)));
}
