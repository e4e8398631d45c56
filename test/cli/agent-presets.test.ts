// `athena work --agent`: each preset's exact command in --dry-run (nothing claimed, nothing created), the
// prompt as one argument that no shell reads, and a run of a fake `claude` that commits on the task's branch.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/stores.js';
import { cliEnv, json, runCli, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
let env: NodeJS.ProcessEnv;
const dir = tempDir('athena-presets-');
const repo = join(dir.path, 'repo');
const gitIn = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

beforeAll(async () => {
  t = await startTestServer();
  env = cliEnv(t.url, { CLAUDE_INSTANCE: 'preset-worker' });
  mkdirSync(repo);
  gitIn(repo, 'init', '--quiet', '--initial-branch=main');
  gitIn(repo, 'config', 'user.name', 'Test');
  gitIn(repo, 'config', 'user.email', 'test@example.com');
  gitIn(repo, 'commit', '--quiet', '--allow-empty', '-m', 'first');
});
afterAll(async () => {
  await t?.close();
  dir.cleanup();
});
beforeEach(async () => {
  await t.server.queue.cancelPending({});
});

/** Task text that would do harm if a shell ever read it. */
const HOSTILE = `fix it'; touch ${join(dir.path, 'pwned')}; echo "$(touch ${join(dir.path, 'pwned2')})" {{notes}}`;

const add = async (extra: Record<string, unknown> = {}) =>
  (await t.server.queue.create({ description: HOSTILE, notes: 'see the login page', project: 'site', submittedBy: 'test', ...extra } as never)).task.id;

const worktree = (id: number) => join(repo, '.git', 'athena-worktrees', 'preset-worker', `task-${id}`);
const commonDir = () => gitIn(repo, 'rev-parse', '--path-format=absolute', '--git-common-dir');

describe('athena work --agent … --dry-run', () => {
  it('prints the preset\'s command with the prompt as one argument and the worktree it would use, and claims nothing', async () => {
    const id = await add();
    const r = await runCli(['work', '--agent', 'codex', '--repo', repo, '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    const prompt: string = out.env.ATHENA_PROMPT;
    expect(out).toEqual({
      task_id: id,
      command: ['codex', 'exec', '--full-auto', '--add-dir', commonDir(), prompt],
      shell: false,
      cwd: worktree(id),
      branch: `athena/task-${id}`,
      base: 'main',
      env: { ATHENA_PROMPT: prompt },
      stdin: '',
    });
    expect(prompt).toContain(`task #${id} from the Athena task queue (project site)`);
    // Task text arrives as typed: `{{notes}}` in it is not a template value.
    expect(prompt).toContain(`Task:\n${HOSTILE}\n\nNotes:\nsee the login page\n\nYou are in a git worktree on branch athena/task-${id}, which started from main.`);
    expect(prompt).not.toContain('reviewer');

    // Nothing was claimed or created.
    expect((await t.server.queue.get(id)).status).toBe('pending');
    expect(existsSync(worktree(id))).toBe(false);
    expect(gitIn(repo, 'branch', '--list', `athena/task-${id}`)).toBe('');
  });

  it('text output is one shell-quoted line that pastes back to the same arguments; --task picks the task', async () => {
    await add();
    const other = await add({ description: 'the other one' });
    const r = await runCli(['work', '--agent', 'gemini', '--dry-run', '--task', String(other)], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`# task #${other}, attempt 1 of 3`);
    expect(lines[2]).toBe('# stdin: empty');
    const commandLine = r.stdout.slice(r.stdout.indexOf('gemini --yolo -p ')).trimEnd();
    // The shell reads the printed line back into the same arguments, the prompt whole.
    const parsed = execFileSync('sh', ['-c', `printf '%s\\0' ${commandLine.slice('gemini '.length)}`], { encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(parsed[0]).toBe('--yolo');
    expect(parsed[2]).toContain('Task:\nthe other one\n');
    expect(parsed).toHaveLength(3);
  });

  it('generic runs --exec with the task on stdin and the prompt in ATHENA_PROMPT; --prompt-template replaces the prompt', async () => {
    const id = await add();
    const template = join(dir.path, 'prompt.txt');
    writeFileSync(template, 'Do #{{id}}: {{description}}{{#feedback}} Feedback: {{feedback}}{{/feedback}}{{^branch}} (no branch){{/branch}}');
    const r = await runCli(['work', '--agent', 'generic', '-x', 'my-agent --fast', '--prompt-template', template, '--dry-run', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ task_id: id, command: 'my-agent --fast', shell: true, branch: null });
    expect(out.env.ATHENA_PROMPT).toBe(`Do #${id}: ${HOSTILE} (no branch)`);
    expect(JSON.parse(out.stdin)).toMatchObject({ id, description: HOSTILE });
  });

  it('refuses unclear flags before anything runs', async () => {
    const typo = join(dir.path, 'typo.txt');
    writeFileSync(typo, 'Do {{descripton}}');
    const cases: Array<[string[], string]> = [
      [['--agent', 'claude', '-x', 'echo'], '--agent claude runs its own command: leave out --exec, or use --agent generic --exec CMD'],
      [['--agent', 'generic'], '--agent generic runs your own command: give it with --exec'],
      [['--agent', 'claude', '--prompt-template', typo], `--prompt-template ${typo} uses {{descripton}}; known values: id, description`],
      [['--agent', 'claude', '--base', 'main'], '--base, --worktrees and --keep-worktrees go with --repo'],
      [['--agent', 'cursor'], "option '--agent <name>' argument 'cursor' is invalid"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(['work', '--dry-run', ...args], env)));
    results.forEach((r, i) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(cases[i]![1]);
    });
  });
});

describe('athena work --agent claude (a fake claude on PATH)', () => {
  it('runs the agent in the worktree with the prompt as one argument; no shell ever reads the task text', async () => {
    const bin = join(dir.path, 'bin');
    mkdirSync(bin, { recursive: true });
    const argsFile = join(dir.path, 'claude-args.json');
    writeFileSync(
      join(bin, 'claude'),
      `#!${process.execPath}
const { execFileSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }));
writeFileSync('done.txt', 'done\\n');
execFileSync('git', ['add', 'done.txt']);
execFileSync('git', ['commit', '--quiet', '-m', 'Do the task']);
console.log('All done.');
`,
    );
    chmodSync(join(bin, 'claude'), 0o755);
    const id = await add();
    const r = await runCli(['work', '--once', '--poll', '5', '--agent', 'claude', '--repo', repo], { ...env, PATH: `${bin}:${env.PATH}` });
    expect(r.code, r.stderr).toBe(0);
    const task = await t.server.queue.get(id);
    expect(task.status).toBe('completed');
    expect(task.notes).toBe('All done.');
    expect(task.result).toMatchObject({ branch: `athena/task-${id}`, commits: [{ subject: 'Do the task' }], files_changed: 1, insertions: 1 });
    const seen = JSON.parse(readFileSync(argsFile, 'utf8')) as { argv: string[]; cwd: string };
    expect(seen.cwd).toBe(worktree(id));
    expect(seen.argv[0]).toBe('-p');
    expect(seen.argv[1]).toContain(`Task:\n${HOSTILE}\n`);
    expect(existsSync(join(dir.path, 'pwned'))).toBe(false);
    expect(existsSync(join(dir.path, 'pwned2'))).toBe(false);
  });
});
