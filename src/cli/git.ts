// Runs git for the worker's workspaces: execFile with an argument list (no shell), so no path, branch
// or task text is ever parsed by a shell; a missing git and a failing git become WorkspaceErrors.
import { execFile } from 'node:child_process';
import { WorkspaceError } from './errors.js';

export type GitOutput = { ok: boolean; stdout: string; stderr: string };

/** The environment of every git call: the caller's, without what would point git at another repository. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
  // Set inside git hooks and by some tools; they would override the `cwd` we pass.
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_PREFIX']) delete env[name];
  return env;
}

/** Runs `git args…` in `cwd`; a non-zero exit is returned (ok: false), not thrown. */
export function tryGit(args: readonly string[], cwd: string): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    execFile('git', [...args], { cwd, env: gitEnv(), maxBuffer: 64 * 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT' && typeof (err as { code?: unknown }).code === 'string') {
        return reject(new WorkspaceError('GIT_MISSING', 'git was not found on PATH: install git to use --repo'));
      }
      resolve({ ok: !err, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Another git process (a second worker on the same repository) holds a lock git needs: worth waiting for. */
const LOCKED = /\.lock'?: File exists|could not lock config file|Unable to create '.*\.lock'/;

/** Runs `git args…` in `cwd` and returns its stdout; a non-zero exit throws, with git's own message. */
export async function git(args: readonly string[], cwd: string): Promise<string> {
  let out = await tryGit(args, cwd);
  for (let attempt = 1; !out.ok && LOCKED.test(out.stderr) && attempt <= 5; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * attempt));
    out = await tryGit(args, cwd);
  }
  if (!out.ok) throw new WorkspaceError('GIT_FAILED', `git ${args[0]} failed: ${out.stderr.trim() || out.stdout.trim() || 'no message'}`);
  return out.stdout;
}
