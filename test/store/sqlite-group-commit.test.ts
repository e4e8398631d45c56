// Group commit: concurrent transactions share a COMMIT, yet each one's failure undoes only its own writes.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDb } from '../../src/store/sqlite/driver.js';
import { tempDir } from '../helpers/stores.js';

describe('sqlite group commit', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: SqliteDb;
  beforeEach(async () => {
    dir = tempDir();
    db = new SqliteDb(join(dir.path, 'g.db'));
    await db.migrate();
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
  });
  afterEach(async () => {
    await db.close();
    dir.cleanup();
  });

  it('a failing transaction in a batch rolls back alone; the others commit', async () => {
    const results = await Promise.allSettled(
      ['a', 'b', 'dup', 'c', 'dup', 'd'].map((v, i) =>
        db.tx(async (q) => {
          await q.run('INSERT INTO t (v) VALUES (?)', [`${v}-${i}-first`]);
          await q.run('INSERT INTO t (v) VALUES (?)', [v === 'dup' ? 'dup' : `${v}-${i}`]);
          if (v === 'c') throw new Error('body failed');
          return v;
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const rows = (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((r) => r.v);
    expect(rows).toEqual(['a-0-first', 'a-0', 'b-1-first', 'b-1', 'dup-2-first', 'dup', 'd-5-first', 'd-5']);
  });

  it('reads outside a transaction wait for the running batch and see only committed data', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const writer = db.tx(async (q) => {
      await q.run("INSERT INTO t (v) VALUES ('x')");
      started();
      await gate;
      return 1;
    });
    await running;
    const read = db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t');
    let readDone = false;
    void read.then(() => (readDone = true));
    // A fixed wait on purpose: it checks that nothing more happens (the read stays blocked behind the write).
    await new Promise((r) => setTimeout(r, 20));
    expect(readDone).toBe(false);
    release();
    await writer;
    expect((await read)!.n).toBe(1);
  });
});
