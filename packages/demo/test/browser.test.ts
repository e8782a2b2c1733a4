/**
 * The demo page in real Chromium: two tabs open a real RTCPeerConnection data channel (iceServers: [])
 * through a real relay with sealed signaling, and chat messages cross it both ways; then a (synthetic) camera
 * renegotiates the connection and its video plays in the other tab. It runs in a private network namespace
 * (netns.ts), so WebRTC has a non-loopback interface and nothing leaves the machine. The namespace holds a
 * small Node script (fixtures/browser-demo.ts: relay + playwright); its JSON result is read from stdout.
 * Skipped when /usr/bin/chromium is missing (outside CI).
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
    });
    const frames = result.relayFrames as number[];
    expect(frames.every((n) => n > 4)).toBe(true);
  }, 60_000);
});
