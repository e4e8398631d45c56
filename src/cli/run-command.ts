// Runs the worker's command for one task (a shell string, or an argument list run without a shell):
// its stdin, output tails kept for the report, and a stop that reaches every process it started (its own group).
import { spawn } from 'node:child_process';

export type CommandExit = {
  /** null when the command was killed by a signal or could not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
  /** Why the command could not start at all. */
  spawnError?: string;
};

export type RunningCommand = {
  pid: number | undefined;
  done: Promise<CommandExit>;
  /** SIGTERM to the command and its children; SIGKILL if they are still there after `killAfterMs`. */
  stop(killAfterMs: number): void;
};

export type CommandOptions = {
  env: NodeJS.ProcessEnv;
  stdin: string;
  cwd?: string;
  /** Called with every chunk of output, e.g. to show it live. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** How much of the end of each stream to keep. */
  tailBytes?: number;
};

/** Keeps the last `max` bytes written to it. */
function tailBuffer(max: number) {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk: Buffer) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max * 2) {
        const all = Buffer.concat(chunks);
        chunks = [all.subarray(all.length - max)];
        size = max;
      }
    },
    text(): string {
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - max)).toString('utf8');
    },
  };
}

const POSIX = process.platform !== 'win32';

/**
 * `command` is a shell string (the operator's `--exec`), or an argument list run without a shell (an agent
 * preset: the prompt, made from task text, is one element and never parsed by a shell).
 */
export function startCommand(command: string | readonly string[], options: CommandOptions): RunningCommand {
  const started = Date.now();
  const max = options.tailBytes ?? 16 * 1024;
  const out = tailBuffer(max);
  const err = tailBuffer(max);
  // detached: a process group of its own, so a stop reaches what the shell started, and a Ctrl-C
  // in the worker's terminal does not kill the command: the worker decides when to stop it.
  const spawnOptions = { detached: POSIX, env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] as ['pipe', 'pipe', 'pipe'] };
  const child = typeof command === 'string' ? spawn(command, { ...spawnOptions, shell: true }) : spawn(command[0]!, command.slice(1), { ...spawnOptions, shell: false });
  let killTimer: NodeJS.Timeout | undefined;

  const signalAll = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      if (POSIX) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // Already gone.
    }
  };

  const done = new Promise<CommandExit>((resolve) => {
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      resolve({ exitCode, signal, stdoutTail: out.text(), stderrTail: err.text(), durationMs: Date.now() - started, spawnError });
    };
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      options.onOutput?.('stdout', c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      options.onOutput?.('stderr', c);
    });
    child.on('error', (e) => finish(null, null, e.message));
    child.on('close', (code, signal) => finish(code, signal));
    child.on('exit', (code, signal) => {
      // A background process may keep the pipes open after the command itself ended: do not wait for it forever.
      setTimeout(() => finish(code, signal), 2000).unref();
    });
  });

  child.stdin.on('error', () => {
    // The command did not read its stdin: that is allowed.
  });
  child.stdin.end(options.stdin);

  return {
    pid: child.pid,
    done,
    stop(killAfterMs: number) {
      // Even when the shell has exited, what it left behind may still be in its group: signal the group.
      signalAll('SIGTERM');
      clearTimeout(killTimer);
      killTimer = setTimeout(() => signalAll('SIGKILL'), killAfterMs);
      killTimer.unref();
    },
  };
}
