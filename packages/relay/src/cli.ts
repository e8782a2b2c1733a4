/**
 * The `sealsig-relay` command (README.md "CLI"). Parses its flags and variables (cli-options.ts), starts a relay, and
 * logs JSON lines `{"time":...,"level":...,"event":...,...fields}` to stderr: one of them,
 * `"event":"listening"` with `host` and `port`, once bound (so scripts and tests can use --port 0). Closes
 * gracefully on SIGINT/SIGTERM (as a container's PID 1 too: the handlers are what makes node stop on them).
 */
import { HELP, parseCli } from './cli-options.js';
import type { RelayLogger, RelayOptions } from './options.js';
import { createRelay } from './relay.js';

const stderrLogger: RelayLogger = (level, message, fields) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, event: message, ...fields })}\n`);
};

async function main(): Promise<void> {
  let options: RelayOptions | undefined;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`sealsig-relay: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (options === undefined) {
    process.stdout.write(HELP);
    return;
  }
  const relay = createRelay({ ...options, logger: stderrLogger });
  await relay.listen(); // logs the one "listening" line
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    stderrLogger('info', 'shutting down', { signal });
    relay.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`sealsig-relay: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
