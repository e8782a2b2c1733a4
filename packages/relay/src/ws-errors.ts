/**
 * The close code `ws` sends when its receiver refuses a frame (invalid UTF-8, an oversized length, a bad
 * opcode...): ws closes the connection itself with that code, and emits 'error' with a stable `code`
 * (ws/lib/receiver.js createError). /metrics counts the close under the code the client actually got.
 */

/** ws error code -> the close code ws sends with it (ws 8.x, lib/receiver.js). */
const WS_ERROR_CLOSE_CODES: ReadonlyMap<string, number> = new Map([
  ['WS_ERR_INVALID_UTF8', 1007],
  ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
  // A 64-bit length above 2^53 - 1: also "message too big", reported before maxPayload is even checked.
  ['WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1009],
  ['WS_ERR_TOO_MANY_BUFFERED_PARTS', 1008],
  ['WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['WS_ERR_INVALID_OPCODE', 1002],
  ['WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
  ['WS_ERR_EXPECTED_FIN', 1002],
  ['WS_ERR_EXPECTED_MASK', 1002],
  ['WS_ERR_UNEXPECTED_MASK', 1002],
  ['WS_ERR_UNEXPECTED_RSV_1', 1002],
  ['WS_ERR_UNEXPECTED_RSV_2_3', 1002],
]);

/**
 * The close code for a ws 'error'. Known codes come from the table; for a code a later ws adds, the status
 * ws attached to the error (the private `Symbol('status-code')`, the value ws passes to close()) is read;
 * failing both, 1002 (protocol error).
 */
export function wsErrorCloseCode(e: Error & { code?: unknown }): number {
  const known = typeof e.code === 'string' ? WS_ERROR_CLOSE_CODES.get(e.code) : undefined;
  if (known !== undefined) return known;
  const key = Object.getOwnPropertySymbols(e).find((s) => s.description === 'status-code');
  const status = key === undefined ? undefined : (e as unknown as Record<symbol, unknown>)[key];
  return typeof status === 'number' && Number.isInteger(status) && status >= 1000 && status <= 4999 ? status : 1002;
}
