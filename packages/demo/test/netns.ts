/**
 * Runs a Chromium fixture script in a private network namespace made here (unshare -n, a veth pair with a
 * default route), so WebRTC has a non-loopback interface and nothing leaves the machine
 * (/work/shared/TOOLCHAIN.md). The script prints one JSON line, its result, as the last line of stdout.
 * CI installs chromium, so there the browser tests always run; elsewhere they are skipped when
 * /usr/bin/chromium is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM) || Boolean(process.env.CI);

const NETNS_SETUP = 'ip link set lo up; ip link add v0 type veth peer name v1; ip addr add 198.18.0.1/24 dev v0; ip link set v0 up; ip link set v1 up; ip route add default dev v0';

/** `unshare -n` as root; `unshare -rn` (a user namespace) where unprivileged namespaces are allowed. */
function unshareFlags(): string[] | undefined {
  for (const flags of [['-n'], ['-r', '-n']]) {
    if (spawnSync('unshare', [...flags, 'sh', '-c', NETNS_SETUP]).status === 0) return flags;
  }
  return undefined;
}

function runInNamespace(flags: string[], fixture: string, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const command = `${NETNS_SETUP}; exec "$0" --conditions=source --import tsx "$1"`;
  const child = spawn('unshare', [...flags, 'sh', '-c', command, process.execPath, fixture], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the namespace's whole process group: node and chromium
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('exit', (code) => (clearTimeout(timer), resolve({ stdout, stderr, code })));
  });
}

/**
 * Runs `fixture` in a fresh namespace and returns its JSON result and a failure message: the script's stderr,
 * led by the result's `error` and `pages` or `probes` (what each page's probe held) when it did not reach
 * `ok`, since a diff of the result alone omits them.
 */
export async function runFixture(fixture: string, timeoutMs: number): Promise<{ result: Record<string, unknown>; stderr: string }> {
  const flags = unshareFlags();
  if (!flags) throw new Error('cannot create a network namespace (unshare -n): run as root or allow user namespaces');
  const { stdout, stderr, code } = await runInNamespace(flags, fixture, timeoutMs);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    const result = JSON.parse(line) as Record<string, unknown>;
    const why = result.ok === true ? '' : `${String(result.error)}\npages: ${JSON.stringify(result.pages ?? result.probes ?? null)}\n`;
    return { result, stderr: `${why}${stderr}` };
  } catch {
    throw new Error(`no result from the browser script (exit ${code}): ${stdout}\n${stderr}`);
  }
}
