import { packageBuild } from '../../tsup.package.ts';

// A browser package: its declarations name RTCPeerConnection, MediaStream... from the DOM library, which a
// consumer type-checking for Node (no "DOM" in lib) would not have otherwise.
export default packageBuild(['src/index.ts'], { dts: { banner: '/// <reference lib="dom" />' } });
