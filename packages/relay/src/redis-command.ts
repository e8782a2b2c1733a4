/**
 * An APPEND call sent as bytes the node encoded itself (redis-appender.ts), through ioredis, which still
 * routes it (in a cluster: by its first key's slot, following MOVED and ASK), matches its reply and reports
 * its failure. ioredis' Script class overrides Command.toWritable() the same way.
 */
import { Command } from 'ioredis';

/** EVALSHA whose whole RESP encoding is `wire`; replies are Buffers. */
export class AppendCall extends Command {
  constructor(
    sha: string,
    /** The call's first key: ioredis computes the slot from it (every key of a call shares that slot). */
    firstKey: string,
    private readonly wire: Buffer,
  ) {
    super('evalsha', [sha, '1', firstKey], { replyEncoding: null });
  }

  /** Sent as is, again after a redirection. */
  override toWritable(): Buffer {
    return this.wire;
  }
}
