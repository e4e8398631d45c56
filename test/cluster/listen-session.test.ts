// The one LISTEN session a replica shares between its event feed and its output relay: both users are
// set up on the same connection, each hears its own channel, and after the connection is lost both
// are told, then set up again on the next one.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { listenSession } from '../../src/cluster/listen-session.js';
import { silentLogger } from '../../src/logger.js';
import type { DedicatedSession } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/open.js';
import { createTestSchema } from '../helpers/stores.js';
import { waitFor } from '../helpers/replicas.js';

describe('listen session (postgres)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('serves two users on one connection, and sets both up again after it is lost', async () => {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const db = await openPostgres(schema.url, { poolSize: 2, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    const stop = new AbortController();
    const session = listenSession({ db, signal: stop.signal, log: silentLogger });
    const heard: string[] = [];
    const state = { a: [] as string[], b: [] as string[] };
    const sessions = new Set<number>();
    // Channels of this run alone: another run on the same database must not be heard.
    const [chanA, chanB] = ['a', 'b'].map((c) => `test_chan_${c}_${schema.schema}`);
    const user = (name: 'a' | 'b', channel: string) => ({
      setup: async (client: DedicatedSession) => {
        client.on('notification', (m) => m.channel === channel && heard.push(`${name}:${m.payload}`));
        await client.query(`LISTEN ${channel}`);
      },
      up: (client: DedicatedSession) => {
        sessions.add((client as DedicatedSession & { processID: number }).processID);
        state[name].push('up');
      },
      down: () => state[name].push('down'),
    });
    session.use(user('a', chanA!));
    session.use(user('b', chanB!));
    session.start();
    cleanups.push(async () => {
      stop.abort();
      await session.stopped;
    });
    await waitFor(() => state.a.length === 1 && state.b.length === 1, 5000, 'both users up');
    expect(sessions.size).toBe(1);

    const other = new pg.Client({ connectionString: schema.url });
    await other.connect();
    cleanups.push(() => other.end());
    await other.query(`NOTIFY ${chanA}, 'one'`);
    await other.query(`NOTIFY ${chanB}, 'two'`);
    await waitFor(() => heard.length === 2, 5000, 'both notifications');
    expect(heard.sort()).toEqual(['a:one', 'b:two']);

    // The connection dies: both are told, and both are set up again on a new one.
    const [pid] = [...sessions];
    await other.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(() => state.a.length === 3 && state.b.length === 3, 10_000, 'both users up again');
    expect(state).toEqual({ a: ['up', 'down', 'up'], b: ['up', 'down', 'up'] });
    expect(sessions.size).toBe(2);
    await other.query(`NOTIFY ${chanB}, 'three'`);
    await waitFor(() => heard.includes('b:three'), 5000, 'a notification on the new connection');

    stop.abort();
    await session.stopped;
    expect(state.a.at(-1)).toBe('down');
  });
});
