#!/usr/bin/env node
// Entry point of `athena`: parses argv, runs a command, and is the only place that exits the process.
import { Command } from 'commander';
import { ConfigError } from './config.js';
import { ServerStopped, registerServerCommands } from './server-commands.js';
import { registerClientCommands } from './cli/program.js';

const program = new Command('athena').description('Athena: a task queue for AI coding agents').showHelpAfterError();
registerServerCommands(program);
registerClientCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // The server logged why it stopped; a clean shutdown is 0.
  if (err instanceof ServerStopped) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`athena: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
