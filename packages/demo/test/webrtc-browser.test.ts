/**
 * @sealsig/webrtc in real Chromium, through a real relay, inside a private network namespace (netns.ts):
 * the README's two-peer snippet run as is; three pages in a mesh with data channels and synthetic cameras;
 * a relay outage longer than the core peer timeout that the data channels survive; a page that reloads; a
 * room whose kicked member's connections close. Each fixture
 * (fixtures/webrtc-*.ts) prints one JSON line. Skipped when /usr/bin/chromium is missing (outside CI).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { webrtcPageProbe } from './fixtures/webrtc-harness.js';
import { hasChromium, runFixture } from './netns.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));

/** What a webrtc-page.ts page recorded, as the fixtures report it (`probes` in their results). */
type Probe = Awaited<ReturnType<typeof webrtcPageProbe>>;

describe.skipIf(!hasChromium)('@sealsig/webrtc in Chromium', () => {
  it("the README's two-peer snippet (at most 8 lines) exchanges a hello each way over a data channel", async () => {
    const { result, stderr } = await runFixture(fixture('webrtc-snippet'), 55_000);
    expect(result, stderr).toMatchObject({ ok: true, pageErrors: [], inTopReadme: true });
    expect(result.lines).toBeLessThanOrEqual(8);
    expect(result.maxColumns).toBeLessThanOrEqual(100);
    const [logA = [], logB = []] = (result.logs as string[][]).map((l) => l.filter((t) => t.includes('hello from')));
    // Each line: "<sender id> hello from <sender id>": the value came from the member it claims.
    const sender = (line: string) => /^(\S+) hello from (\S+)$/.exec(line)!;
    expect(logA).toHaveLength(1);
    expect(logB).toHaveLength(1);
    const [a, b] = [sender(logA[0]!), sender(logB[0]!)];
    expect(a[1]).toBe(a[2]);
    expect(b[1]).toBe(b[2]);
    expect(a[1]).not.toBe(b[1]);
  }, 60_000);

  it('three pages connect pairwise: chat channels open, messages reach both others, each plays the two other cameras', async () => {
    const { result, stderr } = await runFixture(fixture('webrtc-mesh'), 150_000); // three Chromium pages with fake cameras: slow on a loaded 2-CPU machine
    expect(result, stderr).toMatchObject({ ok: true, pageErrors: [], sent0: 2, sent1: 2, sent2: 2 });
    const probes = result.probes as Probe[];
    const ids = probes.map((p) => p.id);
    for (const p of probes) {
      const others = ids.filter((id) => id !== p.id).sort();
      expect([...new Set(p.open)].sort()).toEqual(others);
      expect(p.messages.map((m) => m.split(' ')[0]).sort()).toEqual(others);
      expect(p.messages.every((m) => / hi from page \d$/.test(m))).toBe(true);
      expect([...new Set(p.tracks)].sort()).toEqual(others);
      expect(p.playing).toBe(2);
      expect(p.left).toEqual([]);
      expect(p.errors).toEqual([]);
    }
  }, 160_000);

  it('a relay outage longer than the peer timeout: the data channel keeps working, and the members come back to the same connections', async () => {
    const { result, stderr } = await runFixture(fixture('webrtc-outage'), 85_000);
    expect(result, stderr).toMatchObject({ ok: true, pageErrors: [], sentDuringOutage: [1, 1], sentAfter: [1, 1] });
    // While the relay was down, each session timed the other out; the connection stayed, connected.
    expect(result.duringOutage).toEqual([[{ state: 'connected', present: false }], [{ state: 'connected', present: false }]]);
    for (const p of result.probes as Probe[]) {
      expect(p.sessionLeft).toContain('timeout');
      expect(p.peersCreated).toBe(1); // the same connection before, during and after
      expect(p.left).toEqual([]);
      expect(Object.values(p.states)).toEqual([{ state: 'connected', present: true }]);
      expect(p.messages.map((m) => m.split(' ').slice(1).join(' ')).sort()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^during the outage, from [ab]$/), expect.stringMatching(/^after the outage, from [ab]$/)]),
      );
      expect(p.messages).toHaveLength(2);
    }
  }, 90_000);

  it('a page that reloads reconnects: the new page instance connects and chats; the old one is closed and forgotten', async () => {
    const { result, stderr } = await runFixture(fixture('webrtc-reload'), 85_000);
    expect(result, stderr).toMatchObject({ ok: true, pageErrors: [], sent: [1, 1] });
    expect(result.newB).not.toBe(result.oldB); // a reload has fresh keys: a new member id
    const [a, b] = result.probes as Probe[];
    // A: the old B left (it timed out; its connection failed or was closed), the new B is its one peer.
    const oldLeft = a!.left.filter((l) => l.startsWith(`${String(result.oldB)} `));
    expect(oldLeft).toHaveLength(1);
    expect(['timeout', 'failed', 'bye']).toContain(oldLeft[0]!.split(' ')[1]);
    expect(Object.keys(a!.states)).toEqual([result.newB]);
    expect(Object.values(a!.states)).toEqual([{ state: 'connected', present: true }]);
    expect(b!.open).toEqual([a!.id]);
    expect([...a!.errors, ...b!.errors]).toEqual([]);
  }, 90_000);

  it("over a room: three members connect with the room's ICE servers (reconfigured when they change); a kicked member's connections are closed by the others", { timeout: 90_000 }, async () => {
    const { result, stderr } = await runFixture(fixture('webrtc-room'), 85_000);
    expect(result, stderr).toMatchObject({ ok: true, pageErrors: [] });
    // Chromium reports each server with urls as a list and empty credentials: compare the urls.
    const urls = (configured: unknown) => (configured as RTCIceServer[][]).map((servers) => servers.flatMap((s) => [s.urls].flat()));
    expect((result.configuredBefore as unknown[]).map(urls)).toEqual([0, 1, 2].map(() => [['stun:198.18.0.9:3478'], ['stun:198.18.0.9:3478']]));
    const [alice, bob, carol] = result.probes as { name: string; open: string[]; left: string[]; kicked: string | null; peerIds: string[]; configured: unknown }[];
    // The moderator (alice) sees the kick; bob may hear carol's goodbye (she leaves on her kick notice) before
    // the moderator's paced key change that removes her: either way his connection to her is closed.
    expect(alice!.left).toEqual(['carol kicked']);
    expect(bob!.left).toHaveLength(1);
    expect(['carol kicked', 'carol bye']).toContain(bob!.left[0]);
    expect(alice!.peerIds).toHaveLength(1);
    expect(bob!.peerIds).toHaveLength(1);
    expect(carol!.kicked).toBe('bye carol');
    expect(carol!.left.sort()).toEqual(['alice kicked', 'bob kicked']);
    expect(carol!.peerIds).toEqual([]);
    expect(urls(alice!.configured)).toEqual([['stun:198.18.0.9:3479']]);
    expect(urls(bob!.configured)).toEqual([['stun:198.18.0.9:3479']]);
  });
});
