/** The relay's log sink type, shared by the relay and its Redis-backed parts (no other dependency). */

/** Log sink; the relay never logs frames or topics' contents, only events and counts. */
export type RelayLogger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
