// Server-side commands of `athena` (serve and operator commands); they load server code lazily so the
// agent CLI never pulls it in.
import type { Command } from 'commander';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { registerKeysCommands } from './keys-commands.js';

async function serve(): Promise<void> {
  const config = loadConfig();
  process.env.TZ = config.TZ;
  const log = createLogger(config.LOG_LEVEL);
  const { startServer } = await import('./server.js');
  const server = await startServer(config, log);
  const keyHint =
    server.apiKey.source === 'env'
      ? 'API key: from API_KEY'
      : `API key: ${server.apiKey.source === 'generated' ? 'generated and ' : ''}stored in ${server.apiKey.path} (cat it, or set API_KEY)`;
  process.stdout.write(`Athena is serving at ${server.url}\n  ${keyHint}\n  API docs: ${server.url}/docs\n`);
  log.info({ url: server.url, db: config.DATABASE_URL ? 'postgres' : config.DB_PATH }, 'athena started');

  let signals = 0;
  const stop = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long: exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
      () => {
        log.flush?.();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function migrateDataCommand(options: { from: string; to: string }): Promise<void> {
  const { migrateData } = await import('./store/migrate-data.js');
  await migrateData({ from: options.from, to: options.to, write: (line) => process.stderr.write(line) });
}

export function registerServerCommands(program: Command): void {
  program.command('serve').description('run the server (REST API, dashboard, Discord bot, background loops)').action(serve);
  program
    .command('migrate-data')
    .description('copy a whole queue into an empty store, e.g. SQLite to PostgreSQL (stop the servers first)')
    .requiredOption('--from <store>', 'source: sqlite:<path> or postgres://user@host:5432/db')
    .requiredOption('--to <store>', 'target (must be empty): postgres://… or sqlite:<path>')
    .action(migrateDataCommand);
  registerKeysCommands(program);
}
