#!/usr/bin/env node
// Entry point of `athena`: parses argv, runs a command, and is the only place that exits the process.
import { Command } from 'commander';
import { ConfigError } from './config-error.js';
import { loadDotEnv } from './dotenv.js';
import { ServerStopped, registerServerCommands } from './server-commands.js';
import { registerClientCommands } from './cli/program.js';

async function main(): Promise<void> {
  // Before any command reads the environment: `serve` and the client commands both honour ./.env.
  const dotEnv = loadDotEnv();
  if (!dotEnv.loaded && dotEnv.reason !== 'no file') process.stderr.write(`athena: ${dotEnv.path} not read: ${dotEnv.reason}\n`);
  const program = new Command('athena').description('Athena: a task queue for AI coding agents').showHelpAfterError();
  await registerServerCommands(program);
  registerClientCommands(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // The server logged why it stopped; a clean shutdown is 0.
  if (err instanceof ServerStopped) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`athena: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
