/**
 * The demo page in real Chromium: two tabs open a real RTCPeerConnection data channel (iceServers: [])
 * through a real relay with sealed signaling, and chat messages cross it both ways; then a (synthetic) camera
 * renegotiates the connection and its video plays in the other tab. It runs in a private
 * network namespace made here (unshare -n, a veth pair with a default route), so WebRTC has a non-loopback
 * interface and nothing leaves the machine (/work/shared/TOOLCHAIN.md). The namespace holds a small Node
 * script (fixtures/browser-demo.ts: relay + playwright); its JSON result is read from stdout. CI installs
 * chromium, so there it always runs; elsewhere it is skipped when /usr/bin/chromium is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = fileURLToPath(new URL('./fixtures/browser-demo.ts', import.meta.url));
const NETNS_SETUP = 'ip link set lo up; ip link add v0 type veth peer name v1; ip addr add 198.18.0.1/24 dev v0; ip link set v0 up; ip link set v1 up; ip route add default dev v0';

/** `unshare -n` as root; `unshare -rn` (a user namespace) where unprivileged namespaces are allowed. */
function unshareFlags(): string[] | undefined {
  for (const flags of [['-n'], ['-r', '-n']]) {
    if (spawnSync('unshare', [...flags, 'sh', '-c', NETNS_SETUP]).status === 0) return flags;
  }
  return undefined;
}

function runInNamespace(flags: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const command = `${NETNS_SETUP}; exec "$0" --conditions=source --import tsx "$1"`;
  const child = spawn('unshare', [...flags, 'sh', '-c', command, process.execPath, FIXTURE], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the demo page in Chromium', () => {
  it('two tabs open a real WebRTC data channel through the relay, signaling sealed', async () => {
    const flags = unshareFlags();
    if (!flags) throw new Error('cannot create a network namespace (unshare -n): run as root or allow user namespaces');
    const { stdout, stderr, code } = await runInNamespace(flags, 50_000);
    const line = stdout.trim().split('\n').at(-1) ?? '';
    let result: Record<string, unknown>;
    try {
      result = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`no result from the browser script (exit ${code}): ${stdout}\n${stderr}`);
    }
    expect(result, stderr).toMatchObject({
      ok: true,
      sameTopic: true,
      fragmentInLink: true,
      chat: [['hello back from tab B'], ['hello from tab A']],
      errors: [],
      pageErrors: [],
      sentPanelShowsOffer: true,
      sentPanelShowsCandidate: true,
      relayPanelShowsTopic: true,
      relayPanelLeaks: false,
      remoteVideo: true,
    });
    const frames = result.relayFrames as number[];
    expect(frames.every((n) => n > 4)).toBe(true);
  }, 60_000);
});
