#!/usr/bin/env node
// Entry point of `athena`: parses argv, runs a command, and is the only place that exits the process.
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

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

const program = new Command('athena').description('Athena: a task queue for AI coding agents').showHelpAfterError();
program.command('serve').description('run the server (REST API, dashboard, Discord bot, background loops)').action(serve);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`athena: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
