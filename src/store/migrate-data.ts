// `athena migrate-data --from … --to …`: moves a whole queue between stores (typically SQLite to PostgreSQL).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidError } from '../errors.js';
import { copyQueue, type CopyProgress } from './copy-queue.js';
import type { Db } from './db.js';
import { openDatabase, type DatabaseSpec } from './open.js';

export type StoreSpec = DatabaseSpec;

/** `sqlite:<path>` (or a bare path) and `postgres://…` / `postgresql://…`. */
export function parseStoreSpec(text: string, role: 'source' | 'target'): StoreSpec {
  if (/^postgres(ql)?:\/\//i.test(text)) return { kind: 'postgres', url: text };
  const path = text.replace(/^sqlite:(\/\/)?/i, '');
  if (!path || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new InvalidError(`the ${role} "${text}" is neither sqlite:<path> nor postgres://…`);
  }
  return { kind: 'sqlite', path: resolve(path) };
}

async function describe(spec: StoreSpec): Promise<string> {
  if (spec.kind === 'sqlite') return `sqlite:${spec.path}`;
  const { describeTarget } = await import('./postgres/driver.js');
  return `postgres://${describeTarget(spec.url)}`;
}

async function open(spec: StoreSpec, role: 'source' | 'target'): Promise<Db> {
  if (spec.kind === 'sqlite' && role === 'source' && !existsSync(spec.path)) throw new InvalidError(`the source ${spec.path} does not exist`);
  return openDatabase(spec, { poolSize: 2, startupRetryMs: 5_000 });
}

export type MigrateDataOptions = { from: string; to: string; write: (line: string) => void };

/** Opens both stores (migrating each to the current schema), copies, and reports per table. */
export async function migrateData(options: MigrateDataOptions): Promise<Record<string, number>> {
  const from = parseStoreSpec(options.from, 'source');
  const to = parseStoreSpec(options.to, 'target');
  if ((from.kind === 'sqlite' && to.kind === 'sqlite' && from.path === to.path) || (from.kind === 'postgres' && to.kind === 'postgres' && from.url === to.url)) {
    throw new InvalidError('--from and --to name the same store');
  }
  const [fromName, toName] = [await describe(from), await describe(to)];
  const source = await open(from, 'source');
  try {
    const target = await open(to, 'target');
    try {
      options.write(`Copying ${fromName} -> ${toName}\n`);
      let lastShown = 0;
      const progress = ({ table, copied, total }: CopyProgress) => {
        const now = Date.now();
        if (copied === total || (copied > 0 && now - lastShown > 1000)) {
          lastShown = now;
          options.write(`  ${table.padEnd(12)} ${String(copied).padStart(9)} / ${total}\n`);
        }
      };
      const started = Date.now();
      const copied = await copyQueue(source, target, progress);
      options.write(
        `Done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${copied.tasks} task(s), ${copied.task_logs} log row(s), ` +
          `${copied.instances} instance(s), ${copied.cursors} cursor(s), ${copied.api_keys} API key(s). Point DATABASE_URL (or DB_PATH) at the target and start the servers.\n`,
      );
      return copied;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
