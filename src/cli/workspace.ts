// `athena work --repo`: a git worktree per task on branch athena/task-<id>, in a directory this worker
// owns (default under the repository's .git, so nothing shows in `git status`), removed when the task
// ends, and cleaned at the next start after a crash. Errors name the problem and change nothing.
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { WorkspaceError } from './errors.js';
import { git, tryGit } from './git.js';

export type RepositoryOptions = {
  path: string;
  /** Branch (or any commit) new task branches start from; default: the repository's default branch. */
  base?: string;
  /** Where worktrees go; default <git common dir>/athena-worktrees. */
  worktreesDir?: string;
  /** Worktrees of one worker live in a directory named after its instance, so workers sharing a repository never touch each other's. */
  instanceId: string;
};

export type Repository = {
  root: string;
  /** The repository's shared .git directory (objects, refs): an agent that commits must be able to write it. */
  gitCommonDir: string;
  base: string;
  worktreesRoot: string;
  /** This worker's own directory under worktreesRoot: the only place it deletes anything. */
  ownDir: string;
};

/** Where a task runs: its worktree, its branch, the base that branch started from, and whether an earlier attempt made the branch. */
export type TaskWorkspace = { taskId: number; path: string; branch: string; base: string; continued: boolean };

export const taskBranch = (taskId: number) => `athena/task-${taskId}`;

/** The git config key that marks a branch as made by `athena work` (and records its base). */
export const ownerKey = (branch: string) => `branch.${branch}.athenaBase`;

const TASK_DIR = /^task-(\d+)$/;

/** An instance id as a directory name: no separators, no dot-names. */
function dirName(instanceId: string): string {
  const clean = instanceId.replace(/[^A-Za-z0-9._-]/g, '_');
  return clean === '' || clean.startsWith('.') ? `_${clean}` : clean;
}

async function defaultBranch(root: string): Promise<string> {
  // A clone knows its remote's default branch; use it when a local branch of that name exists.
  const remote = await tryGit(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], root);
  if (remote.ok) {
    const name = remote.stdout.trim().replace(/^origin\//, '');
    if ((await tryGit(['rev-parse', '--verify', '--quiet', `refs/heads/${name}`], root)).ok) return name;
  }
  const head = await tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], root);
  if (head.ok && head.stdout.trim()) return head.stdout.trim();
  throw new WorkspaceError('BASE_NOT_FOUND', `${root} has no branch checked out (detached HEAD): name the branch tasks start from with --base`);
}

/** Checks the repository and the base once, at the worker's start; nothing is created or changed. */
export async function openRepository(o: RepositoryOptions): Promise<Repository> {
  await tryGit(['--version'], process.cwd());
  const path = resolve(o.path);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new WorkspaceError('NOT_A_REPOSITORY', `${path} is not a directory`);
  const top = await tryGit(['rev-parse', '--show-toplevel'], path);
  if (!top.ok || !top.stdout.trim()) throw new WorkspaceError('NOT_A_REPOSITORY', `${path} is not a git repository (or is a bare one): --repo needs a clone with a working tree`);
  const root = top.stdout.trim();
  const gitCommonDir = (await git(['rev-parse', '--path-format=absolute', '--git-common-dir'], root)).trim();

  const base = o.base ?? (await defaultBranch(root));
  if (base.startsWith('-') || !(await tryGit(['rev-parse', '--verify', '--quiet', `${base}^{commit}`], root)).ok) {
    throw new WorkspaceError('BASE_NOT_FOUND', `base ${JSON.stringify(base)} is not a branch or commit of ${root}`);
  }
  // Tasks start from the base's last commit: uncommitted changes on it would silently not be in them.
  const checkedOut = (await tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], root)).stdout.trim();
  if (checkedOut === base) {
    const status = await git(['status', '--porcelain', '--untracked-files=no'], root);
    const changed = status.split('\n').filter(Boolean).length;
    if (changed > 0) {
      throw new WorkspaceError(
        'DIRTY_BASE',
        `${root} has uncommitted changes on ${base} (${changed} file${changed === 1 ? '' : 's'}): commit or stash them first, since tasks start from the last commit of ${base}`,
      );
    }
  }
  const worktreesRoot = resolve(o.worktreesDir ?? join(gitCommonDir, 'athena-worktrees'));
  return { root, gitCommonDir, base, worktreesRoot, ownDir: join(worktreesRoot, dirName(o.instanceId)) };
}

type WorktreeEntry = { path: string; branch: string | null };

async function listWorktrees(repo: Repository): Promise<WorktreeEntry[]> {
  const out = await git(['worktree', 'list', '--porcelain'], repo.root);
  const entries: WorktreeEntry[] = [];
  for (const block of out.split('\n\n')) {
    const path = /^worktree (.+)$/m.exec(block)?.[1];
    if (!path) continue;
    entries.push({ path, branch: /^branch refs\/heads\/(.+)$/m.exec(block)?.[1] ?? null });
  }
  return entries;
}

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};
const isInside = (child: string, parent: string) => {
  const rel = relative(real(parent), real(child));
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !rel.includes(`..${sep}`);
};

async function removeWorktreeAt(repo: Repository, path: string): Promise<void> {
  // Twice --force: also removes a worktree with uncommitted changes or a lock.
  await tryGit(['worktree', 'remove', '--force', '--force', path], repo.root);
  if (existsSync(path)) rmSync(path, { recursive: true, force: true });
  await tryGit(['worktree', 'prune'], repo.root);
}

/** After a crash: forgets worktrees whose directory is gone and removes this worker's leftover task directories. */
export async function cleanStaleWorktrees(repo: Repository): Promise<string[]> {
  await git(['worktree', 'prune'], repo.root);
  if (!existsSync(repo.ownDir)) return [];
  const removed: string[] = [];
  // Only task-<id> directories in this worker's own directory: anything else there is not ours to delete.
  for (const name of readdirSync(repo.ownDir)) {
    if (!TASK_DIR.test(name)) continue;
    const path = join(repo.ownDir, name);
    await removeWorktreeAt(repo, path);
    removed.push(path);
  }
  return removed;
}

/** The workspace a task would get, computed without creating anything (for --dry-run). */
export async function planWorkspace(repo: Repository, taskId: number): Promise<TaskWorkspace> {
  const branch = taskBranch(taskId);
  const recorded = (await tryGit(['config', '--get', ownerKey(branch)], repo.root)).stdout.trim();
  return { taskId, path: join(repo.ownDir, `task-${taskId}`), branch, base: recorded || repo.base, continued: recorded !== '' };
}

/**
 * Creates the task's worktree: a new branch from the base, or, for a later attempt, the branch made by
 * an earlier one. A branch of that name that athena did not make is refused, never reused or moved.
 */
export async function prepareWorkspace(repo: Repository, taskId: number): Promise<TaskWorkspace> {
  const branch = taskBranch(taskId);
  const path = join(repo.ownDir, `task-${taskId}`);
  const exists = (await tryGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], repo.root)).ok;
  const worktrees = await listWorktrees(repo);

  if (!exists) {
    mkdirSync(repo.ownDir, { recursive: true });
    if (existsSync(path)) await removeWorktreeAt(repo, path);
    await git(['worktree', 'add', '--quiet', '-b', branch, path, repo.base], repo.root);
    await git(['config', ownerKey(branch), repo.base], repo.root);
    return { taskId, path, branch, base: repo.base, continued: false };
  }

  const recordedBase = (await tryGit(['config', '--get', ownerKey(branch)], repo.root)).stdout.trim();
  if (!recordedBase) {
    throw new WorkspaceError(
      'BRANCH_TAKEN',
      `branch ${branch} already exists in ${repo.root} and was not made by athena work (its branches carry the git config ${ownerKey(branch)}, this one does not). ` +
        `Rename or delete that branch, or, if it is meant for this task, mark it: git config ${ownerKey(branch)} ${repo.base}`,
    );
  }
  const holder = worktrees.find((w) => w.branch === branch);
  if (holder && real(holder.path) === real(path)) {
    // Kept by --keep-worktrees after an earlier attempt: continue in it.
    return { taskId, path, branch, base: recordedBase, continued: true };
  }
  if (holder) {
    // We hold the task's lease, so a worktree of its branch under the worktrees directory is a crashed worker's leftover.
    if (!isInside(holder.path, repo.worktreesRoot)) {
      throw new WorkspaceError('BRANCH_IN_USE', `branch ${branch} is checked out at ${holder.path}; git cannot check it out twice: remove that worktree (git worktree remove) or switch it to another branch`);
    }
    await removeWorktreeAt(repo, holder.path);
  }
  mkdirSync(repo.ownDir, { recursive: true });
  if (existsSync(path)) await removeWorktreeAt(repo, path);
  await git(['worktree', 'add', '--quiet', path, branch], repo.root);
  return { taskId, path, branch, base: recordedBase, continued: true };
}

/** Removes the task's worktree; its branch and commits stay. */
export async function removeWorkspace(repo: Repository, ws: TaskWorkspace): Promise<void> {
  await removeWorktreeAt(repo, ws.path);
}
