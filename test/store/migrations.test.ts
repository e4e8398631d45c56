// The one migration runner on both backends: each applied migration's checksum is recorded, a
// database from before checksums gets them, and a landed migration edited since is refused by name.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import { loadMigrations } from '../../src/store/migrations.js';
import { openDatabase, type DatabaseSpec } from '../../src/store/open.js';
import { createTestSchema, tempDir } from '../helpers/stores.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Place = { name: 'sqlite' | 'postgres'; spec(): Promise<DatabaseSpec> };

const places: Place[] = [
  {
    name: 'sqlite',
    async spec() {
      const dir = tempDir();
      cleanups.push(() => dir.cleanup());
      return { kind: 'sqlite', path: join(dir.path, 'athena.db') };
    },
  },
  {
    name: 'postgres',
    async spec() {
      const schema = await createTestSchema();
      cleanups.push(() => schema.drop());
      return { kind: 'postgres', url: schema.url };
    },
  },
];

describe.each(places)('migrations on $name', (place) => {
  const open = async (spec: DatabaseSpec) => {
    const db = await openDatabase(spec, { poolSize: 2, startupRetryMs: 0 });
    cleanups.push(() => db.close());
    return db;
  };
  const recorded = async (db: Awaited<ReturnType<typeof open>>) =>
    (await db.all<{ name: string; checksum: string | null }>('SELECT name, checksum FROM schema_migrations ORDER BY name')).map((r) => [r.name, r.checksum]);

  it('records the checksum of every migration it applies, and applies none twice', async () => {
    const db = await open(await place.spec());
    expect(await recorded(db)).toEqual(loadMigrations(place.name).map((m) => [m.name, m.checksum]));
    expect(await db.migrate()).toEqual([]);
  });

  it('gives a database from before checksums the checksums of its files', async () => {
    const spec = await place.spec();
    const db = await open(spec);
    await db.run('UPDATE schema_migrations SET checksum = NULL');
    expect(await db.migrate()).toEqual([]);
    expect(await recorded(db)).toEqual(loadMigrations(place.name).map((m) => [m.name, m.checksum]));
  });

  it('refuses to start when a landed migration was edited, naming the file', async () => {
    const spec = await place.spec();
    const db = await open(spec);
    // As if 003 had been applied from a different text than the file holds now.
    await db.run(`UPDATE schema_migrations SET checksum = ? WHERE name = '003_api_keys.sql'`, ['0'.repeat(64)]);
    const refused = await openDatabase(spec, { poolSize: 2, startupRetryMs: 0 }).then(
      async (again) => {
        await again.close();
        return null;
      },
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as Error).message).toMatch(/migration 003_api_keys\.sql was edited after this database applied it/);
  });
});
