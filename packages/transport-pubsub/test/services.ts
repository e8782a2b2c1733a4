/**
 * The services of the binding tests: the shared spawners of @sealsig/transport-conformance, and aedes in
 * process.
 */
import net from 'node:net';
import type { Service } from '@sealsig/transport-conformance';

export { startMosquitto, startNats, startRedis } from '@sealsig/transport-conformance';
export type { Service } from '@sealsig/transport-conformance';

/** aedes 1.2, in process, on a TCP server. */
export async function startAedes(): Promise<Service> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
