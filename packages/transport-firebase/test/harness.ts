/**
 * Test harness: one local firebase-server, and independent firebase clients on it, each its own
 * `initializeApp` instance (own name, own connection, own namespace in its URL so that its socket can be
 * killed on the server). Transports made by `create()` delete their app when closed.
 */
import { deleteApp, initializeApp } from 'firebase/app';
import type { FirebaseApp } from 'firebase/app';
import { connectDatabaseEmulator, getDatabase } from 'firebase/database';
import type { Database } from 'firebase/database';
import { createFirebaseTransport } from '../src/index.js';
import type { FirebaseTransport, FirebaseTransportOptions } from '../src/index.js';
import { startLocalFirebase } from './firebase-server.js';
import type { LocalFirebase } from './firebase-server.js';

export interface Client {
  app: FirebaseApp;
  database: Database;
  /** The namespace in this client's URL: LocalFirebase.dropSockets(ns) kills its socket. */
  ns: string;
}

let clientCount = 0;

export class FirebaseHarness {
  private local: LocalFirebase | undefined;
  private readonly clients = new Set<Client>();
  private readonly transports = new Map<FirebaseTransport, Client>();

  get server(): LocalFirebase {
    if (!this.local) throw new Error('harness not started');
    return this.local;
  }

  async start(): Promise<void> {
    this.local = await startLocalFirebase();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.transports.keys()].map((t) => t.close()));
    await Promise.allSettled([...this.clients].map((c) => this.deleteClient(c)));
    await this.local?.close();
    this.local = undefined;
  }

  /** A new, independent firebase client connected to the local server. */
  client(): Client {
    const ns = `client-${++clientCount}`;
    const app = initializeApp({ databaseURL: `http://127.0.0.1:${this.server.port}?ns=${ns}`, projectId: 'sealsig-test' }, ns);
    const database = getDatabase(app);
    connectDatabaseEmulator(database, '127.0.0.1', this.server.port);
    const client = { app, database, ns };
    this.clients.add(client);
    return client;
  }

  async deleteClient(client: Client): Promise<void> {
    if (!this.clients.delete(client)) return;
    await deleteApp(client.app);
  }

  /** A transport on a client of its own; closing it also deletes that client. */
  async create(options: Omit<FirebaseTransportOptions, 'database'> = {}): Promise<FirebaseTransport> {
    const client = this.client();
    const transport = createFirebaseTransport({ ...options, database: client.database });
    this.transports.set(transport, client);
    const close = transport.close.bind(transport);
    (transport as { close: () => Promise<void> }).close = async () => {
      await close();
      this.transports.delete(transport);
      await this.deleteClient(client);
    };
    return transport;
  }

  /** Kills the socket of the client under `transport`, as a network failure would. */
  dropSocket(transport: FirebaseTransport): number {
    const client = this.transports.get(transport);
    if (!client) throw new Error('not a transport of this harness');
    return this.server.dropSockets(client.ns);
  }

  /** Sum of openResources over the transports not yet closed. */
  openResources(): number {
    let n = 0;
    for (const t of this.transports.keys()) n += t.openResources;
    return n;
  }
}
