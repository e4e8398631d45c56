// Entry of the one-file client dist/athena-cli.mjs: the agent commands only, bundled with no server code,
// so it runs with `node athena-cli.mjs …` on a host that has nothing but Node.
import { Command } from 'commander';
import { loadDotEnv } from '../dotenv.js';
import { registerClientCommands } from './program.js';

async function main(): Promise<void> {
  // Like `athena`: ./.env is read first, and the real environment wins over it.
  const dotEnv = loadDotEnv();
  if (!dotEnv.loaded && dotEnv.reason !== 'no file') process.stderr.write(`athena: ${dotEnv.path} not read: ${dotEnv.reason}\n`);
  const program = new Command('athena').description('Athena agent client: talks to an Athena server over HTTP').showHelpAfterError();
  registerClientCommands(program, { standalone: true });
  await program.parseAsync(process.argv);
}

// Sets the exit code rather than exiting: the process ends by itself once the command is done
// (src/main.ts is the one place that calls process.exit).
main().catch((err: unknown) => {
  process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
});
