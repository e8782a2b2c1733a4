/**
 * The `sealsig-relay` command's flags and environment variables (README.md "CLI flags"): --help's text, and
 * parseCli, which turns them into relay options (node:util parseArgs; a flag wins over its variable).
 */
import { parseArgs } from 'node:util';
import { invalid } from './errors.js';
import type { RelayOptions } from './options.js';

/** The flags (parseArgs options); each one also reads the environment variable envName(flag). */
const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'max-frame-bytes': { type: 'string' },
  redis: { type: 'string' },
  static: { type: 'string' },
  origin: { type: 'string', multiple: true },
  'token-secret': { type: 'string' },
  'turn-secret': { type: 'string' },
  'turn-url': { type: 'string', multiple: true },
  'turn-ttl': { type: 'string' },
  'descriptor-max-entries': { type: 'string' },
  'descriptor-max-ttl-ms': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'max-topics-per-connection': { type: 'string' },
  'retention-frames': { type: 'string' },
  'retention-age-ms': { type: 'string' },
  'drain-delay-ms': { type: 'string' },
  'trust-proxy': { type: 'boolean' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

type Flag = keyof typeof FLAGS;

/** The environment variable that sets `--<flag>`: SEALSIG_RELAY_ and the flag in capitals, `-` as `_`. */
export function envName(flag: string): string {
  return `SEALSIG_RELAY_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** `  --flag  SEALSIG_RELAY_FLAG` lines for --help. */
const ENV_LINES = Object.keys(FLAGS)
  .map((flag) => `  ${`--${flag}`.padEnd(33)}${envName(flag)}`)
  .join('\n');

export const HELP = `Usage: sealsig-relay [options]

A WebSocket relay for sealsig: routes opaque frames by topic (PROTOCOL-RELAY.md).

Options:
  --host <addr>                    interface to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port <n>                       TCP port (default 8787; 0 picks a free one)
  --max-frame-bytes <n>            largest frame a client may publish (default 65536)
  --redis <url>                    redis://host:port for multi-node fan-out and shared room descriptors
                                   (default: single node)
  --static <dir>                   serve the files of <dir> over HTTP (demo page)
  --origin <origin>                allowed Origin (repeatable; default: any origin)
  --token-secret <secret>          require admission tokens minted with this secret (16..64 bytes);
                                   (SEALSIG_RELAY_TOKEN_SECRET keeps it out of ps)
  --turn-secret <secret>           serve TURN credentials at GET /turn?token=<admission token>, signed with
                                   coturn's static-auth-secret (needs --token-secret and --turn-url);
                                   (SEALSIG_RELAY_TURN_SECRET keeps it out of ps)
  --turn-url <url>                 a turn:/turns:/stun: URL handed out with the credentials (repeatable)
  --turn-ttl <seconds>             lifetime of TURN credentials (default 3600)
  --descriptor-max-entries <n>     room descriptors held at PUT/GET /descriptors/<id> (default 10000;
                                   0 turns the endpoint off)
  --descriptor-max-ttl-ms <n>      longest a room descriptor is kept (default 3600000)
  --max-connections <n>            open connections in all (default 10000)
  --max-connections-per-ip <n>     open connections per client address (default 100)
  --max-topics-per-connection <n>  topics one connection may subscribe to at once (default 128; a sealsig
                                   session holds two, a moderated room four)
  --retention-frames <n>           frames the memory engine keeps per topic (default 1000; 0 = none: every
                                   resume after a reconnect is a gap)
  --retention-age-ms <n>           how long it keeps them: a client away longer cannot resume (default 60000)
  --drain-delay-ms <n>             on shutdown, answer /healthz 503 this long before closing clients (default 0)
  --trust-proxy                    take the client address from X-Forwarded-For (last entry); behind a
                                   proxy or container NAT every client has the proxy's address, and the
                                   per-address limit would cap the whole deployment
  --help                           show this help

Environment: every flag can be set from a variable instead (a flag on the command line wins; an empty
variable is unset; a repeatable flag takes a comma-separated list; --trust-proxy takes 1/true or 0/false):
${ENV_LINES}

Endpoints: ws://<host>:<port>/ (WebSocket, subprotocol sealsig-relay.2), /healthz, /metrics, /turn, /descriptors/<id>.
Signals: SIGINT/SIGTERM close gracefully: PUBLISH is refused from then on (clients send it again after
reconnecting), what was accepted is delivered and acknowledged, then clients get close code 1012.
Wire protocol: PROTOCOL-RELAY.md in this package (node_modules/@sealsig/relay/PROTOCOL-RELAY.md).
`;

/**
 * Fills every flag not given on the command line from its environment variable (an empty one is unset). A
 * repeatable flag takes a comma-separated list; --trust-proxy takes 1/true/yes or 0/false/no.
 */
function fromEnv(values: Partial<Record<Flag, string | string[] | boolean>>, env: NodeJS.ProcessEnv): void {
  for (const flag of Object.keys(FLAGS) as Flag[]) {
    const raw = env[envName(flag)];
    if (values[flag] !== undefined || raw === undefined || raw === '') continue;
    const spec: { type: string; multiple?: boolean } = FLAGS[flag];
    if (spec.type === 'boolean') {
      if (/^(1|true|yes)$/i.test(raw)) values[flag] = true;
      else if (/^(0|false|no)$/i.test(raw)) values[flag] = false;
      else throw invalid(`${envName(flag)} must be 1, true, yes, 0, false or no`);
    } else if (spec.multiple === true) {
      values[flag] = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    } else {
      values[flag] = raw;
    }
  }
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw invalid(`--${name} must be a non-negative integer`);
  return Number(value);
}

/** Turns argv into relay options; undefined when --help was asked. Throws RelayError on bad flags. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): RelayOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...FLAGS, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    throw invalid(e instanceof Error ? e.message : String(e));
  }
  if (values.help === true) return undefined;
  fromEnv(values, env);
  const secret = values['token-secret'];
  const turnSecret = values['turn-secret'];
  const turnUrls = values['turn-url'];
  const hasTurnSecret = turnSecret !== undefined && turnSecret !== '';
  if (hasTurnSecret !== (turnUrls !== undefined)) {
    throw invalid('--turn-secret and --turn-url go together');
  }
  if (values['turn-ttl'] !== undefined && !hasTurnSecret) {
    throw invalid('--turn-ttl needs --turn-secret and --turn-url');
  }
  const descriptorEntries = num('descriptor-max-entries', values['descriptor-max-entries']);
  const descriptorTtl = num('descriptor-max-ttl-ms', values['descriptor-max-ttl-ms']);
  if (descriptorEntries === 0 && descriptorTtl !== undefined) {
    throw invalid('--descriptor-max-ttl-ms needs the descriptor endpoint on');
  }
  const retentionFrames = num('retention-frames', values['retention-frames']);
  const retentionAge = num('retention-age-ms', values['retention-age-ms']);
  return {
    host: values.host ?? '127.0.0.1',
    port: num('port', values.port) ?? 8787,
    maxFrameBytes: num('max-frame-bytes', values['max-frame-bytes']),
    redis: values.redis === undefined ? undefined : { url: values.redis },
    staticDir: values.static,
    allowedOrigins: values.origin,
    admission: secret === undefined || secret === '' ? undefined : { secret },
    maxConnections: num('max-connections', values['max-connections']),
    maxConnectionsPerIp: num('max-connections-per-ip', values['max-connections-per-ip']),
    maxTopicsPerConnection: num('max-topics-per-connection', values['max-topics-per-connection']),
    retention:
      retentionFrames === 0 ? false : { maxFrames: retentionFrames, maxAgeMs: retentionAge },
    descriptors: descriptorEntries === 0 ? false : { maxEntries: descriptorEntries, maxTtlMs: descriptorTtl },
    drainDelayMs: num('drain-delay-ms', values['drain-delay-ms']),
    trustProxy: values['trust-proxy'] ?? false,
    turn:
      hasTurnSecret && turnUrls !== undefined
        ? { secret: turnSecret, urls: turnUrls, ttlSeconds: num('turn-ttl', values['turn-ttl']) }
        : undefined,
  };
}

