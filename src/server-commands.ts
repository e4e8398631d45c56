// Server-side commands of `athena` (serve and operator commands); they load server code lazily so the
// agent CLI never pulls it in (not even the config schema's zod, nor pino).
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { registerKeysCommands } from './keys-commands.js';

/** The config, read and checked from the environment (zod loads only here). */
async function loadConfig() {
  return (await import('./config.js')).loadConfig();
}

async function serve(): Promise<void> {
  const config = await loadConfig();
  process.env.TZ = config.TZ;
  const { createLogger } = await import('./logger.js');
  const log = createLogger(config.LOG_LEVEL);
  const { startServer } = await import('./server.js');
  const server = await startServer(config, log);
  const keyHint =
    server.apiKey.source === 'env'
      ? 'API key: from API_KEY'
      : `API key: ${server.apiKey.source === 'generated' ? 'generated and ' : ''}stored in ${server.apiKey.path} (cat it, or set API_KEY)`;
  process.stdout.write(`Athena is serving at ${server.url}\n  ${keyHint}\n  API docs: ${server.url}/docs\n`);
  log.info({ url: server.url, db: config.DATABASE_URL ? 'postgres' : config.DB_PATH }, 'athena started');

  // The action returns only when the server has stopped, so main decides the exit code.
  await untilStopped(server, log);
}

/**
 * Ends `athena serve`: main exits with `exitCode`. Thrown even after a clean shutdown (code 0) because
 * commander ignores what an action returns, and the process must not wait for a handle a library left open.
 */
export class ServerStopped extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServerStopped';
  }
}

/** Waits for SIGTERM/SIGINT, closes the server, and rejects with how the process should end. */
function untilStopped(server: { close(): Promise<void> }, log: Logger): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting now');
        return reject(new ServerStopped(1, 'second signal: exited before the shutdown finished'));
      }
      log.info({ signal }, 'shutting down (a second signal exits at once)');
      // server.close() bounds each step itself; this is the last resort if something still hangs.
      const force = setTimeout(() => {
        log.error('shutdown took too long: exiting');
        reject(new ServerStopped(1, 'shutdown took too long'));
      }, 8_000);
      force.unref();
      server.close().then(
        () => reject(new ServerStopped(0, 'stopped')),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          reject(new ServerStopped(1, `shutdown failed: ${(err as Error)?.message ?? String(err)}`));
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

async function backupCommand(options: { out?: string }): Promise<void> {
  const config = await loadConfig();
  if (config.DATABASE_URL) {
    throw new Error('DATABASE_URL is set: back PostgreSQL up with pg_dump, e.g. pg_dump "$DATABASE_URL" > athena.sql');
  }
  const { join } = await import('node:path');
  const { backupDatabase, backupDirFor, backupFileName } = await import('./ops/backup.js');
  const out = options.out ?? join(backupDirFor(config), backupFileName(config.DB_PATH, Date.now()));
  const result = await backupDatabase(config.DB_PATH, out);
  process.stdout.write(
    `Backup written to ${result.path}\n  ${result.tasks} task(s), ${result.logs} log row(s), ${(result.bytes / 1_048_576).toFixed(1)} MB, integrity_check ok, ${result.durationMs} ms\n`,
  );
}

async function restoreCommand(file: string, options: { force?: boolean }): Promise<void> {
  const config = await loadConfig();
  if (config.DATABASE_URL) {
    throw new Error('DATABASE_URL is set: restore PostgreSQL with psql or pg_restore from your pg_dump file');
  }
  const { restoreDatabase } = await import('./ops/restore.js');
  const result = await restoreDatabase({ from: file, dbPath: config.DB_PATH, force: options.force });
  process.stdout.write(
    `Restored ${file} into ${config.DB_PATH} (${result.restored.tasks} task(s), integrity_check ok)\n` +
      (result.previousCopy ? `  The database it replaced is kept as ${result.previousCopy}\n` : '') +
      '  Start the server again: athena serve\n',
  );
}

async function migrateDataCommand(options: { from: string; to: string }): Promise<void> {
  const { migrateData } = await import('./store/migrate-data.js');
  await migrateData({ from: options.from, to: options.to, write: (line) => process.stderr.write(line) });
}

/** `args`: the command line after `athena` (to see whether it asks for `athena help serve`). */
export async function registerServerCommands(program: Command, args: readonly string[] = process.argv.slice(2)): Promise<void> {
  const serveCommand = program
    .command('serve')
    .description('run the server (REST API, dashboard, Discord bot, background loops)')
    .action(serve);
  // Its help lists the main variables from the config schema, loaded only when serve (or its help) runs.
  const addVariables = async () => serveCommand.addHelpText('after', (await import('./config-help.js')).serveHelpText());
  program.hook('preSubcommand', async (_program, sub) => {
    if (sub === serveCommand) await addVariables();
  });
  // `athena help serve` prints that help without running a hook.
  if (args[0] === 'help' && args[1] === 'serve') await addVariables();
  program
    .command('migrate-data')
    .description('copy a whole queue into an empty store, e.g. SQLite to PostgreSQL (stop the servers first)')
    .requiredOption('--from <store>', 'source: sqlite:<path> or postgres://user@host:5432/db')
    .requiredOption('--to <store>', 'target (must be empty): postgres://… or sqlite:<path>')
    .action(migrateDataCommand);
  program
    .command('backup')
    .description('write a verified snapshot of the SQLite database (safe while the server runs)')
    .option('--out <file>', 'where to write it (default: BACKUP_DIR/athena-<time>.db)')
    .action(backupCommand);
  program
    .command('restore')
    .description('replace the SQLite database with a backup (stop the server first; the replaced file is kept)')
    .argument('<file>', 'backup file to restore')
    .option('--force', 'take over a lock written on another host (only when that server is surely stopped)')
    .action(restoreCommand);
  registerKeysCommands(program);
}
