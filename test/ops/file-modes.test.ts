// The files a fresh `athena serve` writes hold task text, lease tokens and key hashes: the data
// directory is 0700 and every file in it 0600, whatever the umask; an older database is narrowed too.
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ATHENA_BIN, api, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

let dir: ReturnType<typeof tempDir> | null = null;
let server: ServerProcess | null = null;
let umask: number | null = null;
afterEach(async () => {
  await server?.stop('SIGKILL');
  if (umask !== null) process.umask(umask);
  dir?.cleanup();
  dir = server = umask = null;
});

function backup(dbPath: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [ATHENA_BIN, 'backup'], { env: { PATH: process.env.PATH ?? '', DB_PATH: dbPath, LOG_LEVEL: 'warn' }, timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(stderr)) : resolve(),
    ),
  );
}

it('a first start with the usual umask 022 writes the data directory 0700 and the database, WAL, SHM, lock, key and backups 0600', async () => {
  dir = tempDir('athena-modes-');
  const data = join(dir.path, 'data');
  umask = process.umask(0o022);
  // No API_KEY: the key is generated into the data directory, as on a first `npm start`.
  server = await startServerProcess({ dataDir: data, env: { API_KEY: '', BACKUP_INTERVAL_HOURS: '0' } });
  const key = readFileSync(join(data, 'api-key'), 'utf8').trim();
  expect((await api({ url: server.url, key }, 'POST', '/api/tasks', { description: 'written' })).status).toBe(201);
  await backup(join(data, 'athena.db'));

  expect(mode(data)).toBe('0700');
  const files = readdirSync(data).filter((name) => name !== 'backups');
  expect(files.sort()).toEqual(['api-key', 'athena.db', 'athena.db-shm', 'athena.db-wal', 'athena.db.lock']);
  for (const name of files) expect(`${name} ${mode(join(data, name))}`).toBe(`${name} 0600`);
  expect(mode(join(data, 'backups'))).toBe('0700');
  const backups = readdirSync(join(data, 'backups'));
  expect(backups).toHaveLength(1);
  expect(mode(join(data, 'backups', backups[0]!))).toBe('0600');
});

it('narrows a database and WAL left readable by an older version to 0600 when it starts', async () => {
  dir = tempDir('athena-modes-');
  const data = join(dir.path, 'data');
  server = await startServerProcess({ dataDir: data });
  expect((await api(server, 'POST', '/api/tasks', { description: 'before' })).status).toBe(201);
  await server.stop('SIGKILL');
  for (const name of ['athena.db', 'athena.db-wal', 'athena.db-shm']) chmodSync(join(data, name), 0o644);
  writeFileSync(join(data, 'unrelated.txt'), 'not ours');
  chmodSync(join(data, 'unrelated.txt'), 0o644);
  server = await startServerProcess({ dataDir: data });
  for (const name of ['athena.db', 'athena.db-wal', 'athena.db-shm']) expect(`${name} ${mode(join(data, name))}`).toBe(`${name} 0600`);
  expect(mode(join(data, 'unrelated.txt'))).toBe('0644');
});
