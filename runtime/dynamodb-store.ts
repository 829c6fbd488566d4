/**
 * DynamoDB as dynalite serves it, in memory or in LevelDB under `--state-dir`. The store is open
 * before the runtime says it is ready: a directory LevelDB cannot open fails the start with its
 * reason, instead of every later DynamoDB call failing with an internal error. LevelDB's lock,
 * which the kernel drops when its process dies, is also what keeps a second runtime off a state
 * directory that one already uses.
 */
import type * as http from 'node:http';

/** The state directory is held by another runtime, in this process or another. */
export class StateInUseError extends Error {
  override name = 'StateInUseError';
}

interface DynaliteDb {
  open(): Promise<void>;
  close(cb: (err?: Error) => void): void;
}

interface DynaliteServer extends http.Server {
  listeners(event: 'request'): http.RequestListener[];
}

export interface DynamoStore {
  handler: http.RequestListener;
  close(): Promise<void>;
}

/**
 * Starts dynalite's request handler on an open store: in memory, or persisted in `path`.
 * @throws StateInUseError when another runtime holds `path`; the open error for anything else.
 */
export async function openDynamoStore(path?: string): Promise<DynamoStore> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (o: object) => DynaliteServer;
  // dynalite's own close() closes its database only after closing an HTTP server it listens on, and
  // the runtime serves dynalite's handler on its own server: keep the store to open and close its
  // database (its LevelDB lock would otherwise outlive close(), and a restart on the same path fail).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynaliteDb = require('dynalite/db') as { create: (o: object) => { db: DynaliteDb } };
  const createStore = dynaliteDb.create;
  let db: DynaliteDb | undefined;
  dynaliteDb.create = (o) => {
    const store = createStore(o);
    db = store.db;
    return store;
  };
  let server: DynaliteServer;
  try {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
  } finally {
    dynaliteDb.create = createStore;
  }
  const handler = server.listeners('request')[0];
  if (!handler || !db) throw new Error('dynalite has no request handler or store');
  const store = db;
  try {
    await store.open();
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED')
      throw new StateInUseError(
        `--state-dir is in use by another local runtime (the DynamoDB store ${path} is locked): stop that runtime, or give this one another directory`,
        { cause: e },
      );
    throw new Error(`The DynamoDB store ${path ?? '(in memory)'} cannot be opened: ${cause?.message ?? (e as Error).message}`, {
      cause: e,
    });
  }
  return {
    handler,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (path) await new Promise<void>((resolve) => store.close(() => resolve()));
    },
  };
}
