// Entry of the one-file client dist/athena-cli.mjs: the agent commands only, bundled with no server code,
// so it runs with `node athena-cli.mjs …` on a host that has nothing but Node.
import { Command } from 'commander';
import { registerClientCommands } from './program.js';

const program = new Command('athena').description('Athena agent client: talks to an Athena server over HTTP').showHelpAfterError();
registerClientCommands(program, { standalone: true });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
