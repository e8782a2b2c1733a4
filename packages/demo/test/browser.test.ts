/**
 * The demo page in real Chromium: two tabs open a real RTCPeerConnection data channel (iceServers: [])
 * through a real relay with sealed signaling, and chat messages cross it both ways; then a (synthetic) camera
 * renegotiates the connection and its video plays in the other tab. It runs in a private network namespace
 * (netns.ts), so WebRTC has a non-loopback interface and nothing leaves the machine. The namespace holds a
 * small Node script (fixtures/browser-demo.ts: relay + playwright); its JSON result is read from stdout.
 * Screenshots of the first screen and of the call land in packages/demo/screenshots/. Skipped when
 * /usr/bin/chromium is missing (outside CI).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasChromium, runFixture } from './netns.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/browser-demo.ts', import.meta.url));

describe.skipIf(!hasChromium)('the demo page in Chromium', () => {
  it('two tabs open a real WebRTC data channel through the relay, signaling sealed', async () => {
    const { result, stderr } = await runFixture(FIXTURE, 50_000);
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
      waitingLineStale: false,
    });
    // The first screen says what the page is and what to do next, in one sentence; the screenshots were drawn.
    expect(result.intro).toMatch(/^This page is one end of a WebRTC call .*: open the link below in a second tab to connect the two, or create a password room further down\.$/);
    expect(result.screenshots).toEqual({ 'session-first-screen': expect.any(Number), 'session-call': expect.any(Number) });
    for (const size of Object.values(result.screenshots as Record<string, number>)) expect(size).toBeGreaterThan(10_000);
    const frames = result.relayFrames as number[];
    expect(frames.every((n) => n > 4)).toBe(true);
  }, 60_000);
});
