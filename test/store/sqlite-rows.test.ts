// Rows come back from the SQLite driver as plain objects keyed by column name, whatever the columns.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CACHED_STATEMENTS, SqliteDb } from '../../src/store/sqlite/driver.js';
import { tempDir } from '../helpers/stores.js';

describe('sqlite rows', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: SqliteDb;
  beforeEach(() => {
    dir = tempDir();
    db = new SqliteDb(join(dir.path, 'r.db'));
  });
  afterEach(async () => {
    await db.close();
    dir.cleanup();
  });

  it('get, all and RETURNING give objects by column name; a later duplicate name wins, as before', async () => {
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)');
    const inserted = await db.get<{ id: number; name: string }>("INSERT INTO t (name, n) VALUES ('a', 1) RETURNING id, name");
    expect(inserted).toEqual({ id: 1, name: 'a' });
    expect(await db.insert("INSERT INTO t (name, n) VALUES ('b', 2)")).toBe(2);
    expect(await db.all('SELECT * FROM t ORDER BY id')).toEqual([
      { id: 1, name: 'a', n: 1 },
      { id: 2, name: 'b', n: 2 },
    ]);
    expect(await db.get('SELECT name, n AS name FROM t WHERE id = ?', [2])).toEqual({ name: 2 });
    expect(await db.get('SELECT * FROM t WHERE id = ?', [9])).toBeUndefined();
  });

  it('a column named __proto__ is a property, never the prototype', async () => {
    const row = await db.get<Record<string, unknown>>("SELECT 'x' AS __proto__, 1 AS one");
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('x');
    expect(row!.one).toBe(1);
  });

  it('statement texts past the cache bound (IN lists of every length) still run, and the first ones again after them', async () => {
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    await db.run('INSERT INTO t (id) VALUES (1), (2), (3)');
    const inList = (n: number) => `SELECT COUNT(*) AS n FROM t WHERE id IN (${Array.from({ length: n }, () => '?').join(', ')})`;
    for (let n = 1; n <= MAX_CACHED_STATEMENTS + 50; n++) {
      expect(await db.get(inList(n), Array.from({ length: n }, (_, i) => i + 1))).toEqual({ n: Math.min(n, 3) });
    }
    expect(await db.get(inList(2), [1, 2])).toEqual({ n: 2 });
  });
});
