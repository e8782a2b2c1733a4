/**
 * Serves the browser demo: builds the bundle, then starts a sealsig relay that also serves the page
 * (staticDir), on 127.0.0.1:8080 (PORT and HOST override). Open the printed URL, then open the link the
 * page shows (it carries the session id in its #fragment) in a second tab. The page's "Create password
 * room" section makes a moderated room (@sealsig/rooms) whose invite link opens on a consent panel.
 *
 *   node --conditions=source --import tsx packages/demo/src/serve.ts
 */
import { createRelay } from '@sealsig/relay';
import { buildDemo } from './build.js';

const dir = await buildDemo();
const relay = createRelay({
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 8080),
  staticDir: dir,
  logger: (level, message, fields) => {
    if (level !== 'info') console.error(`relay ${level}: ${message}`, fields ?? '');
  },
});
const { host, port } = await relay.listen().catch((e: unknown) => {
  console.error(`could not listen (${String(e)}); is the port taken? Set PORT=<another port>.`);
  process.exit(1);
});
const shown = host.includes(':') ? `[${host}]` : host;
console.log(`sealsig demo: the relay serves the page and relays the sealed signaling frames.`);
console.log(`Open http://${shown}:${port}/ then open the link it shows in a second tab. Ctrl-C stops.`);
console.log(`On the page, "Create password room" makes a moderated room: open its invite link in another tab.`);
const stop = () => void relay.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
