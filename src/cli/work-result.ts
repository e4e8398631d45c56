// What `athena work` reports in a completed task's `result`: exit code and duration, and for a workspace
// the branch, its commits ahead of the base and the diff stat; plus the first pull/merge request URL in the output.
import { git, tryGit } from './git.js';
import type { CommandExit } from './run-command.js';
import type { TaskWorkspace } from './workspace.js';

/** Commits listed in a result; a longer branch is cut to its newest ones. */
export const MAX_REPORTED_COMMITS = 100;
const MAX_SUBJECT_CHARS = 200;

export type CommitJson = { id: string; subject: string };

export type WorkspaceResult = {
  branch: string;
  base: string;
  head: string;
  commits: CommitJson[];
  files_changed: number;
  insertions: number;
  deletions: number;
  /** Changes the command left without committing; they are not on the branch. */
  uncommitted_files: number;
};

// GitHub pull requests and GitLab merge requests (gitlab.com or self-hosted, nested groups).
const PR_URL = /https:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9_.~/-]+?\/(?:pull\/\d+|-\/merge_requests\/\d+)(?!\d)/;

/** The first pull/merge request URL in the output, or null. */
export function findPullRequestUrl(...outputs: string[]): string | null {
  for (const text of outputs) {
    const m = PR_URL.exec(text);
    if (m) return m[0];
  }
  return null;
}

/** "3 files changed, 10 insertions(+), 2 deletions(-)" → numbers (each part is left out by git when 0). */
export function parseShortStat(line: string): { files_changed: number; insertions: number; deletions: number } {
  const n = (re: RegExp) => Number(re.exec(line)?.[1] ?? 0);
  return { files_changed: n(/(\d+) files? changed/), insertions: n(/(\d+) insertions?\(\+\)/), deletions: n(/(\d+) deletions?\(-\)/) };
}

/** The branch as the command left it: head, commits ahead of the base, diff stat against where it forked. */
export async function describeWorkspace(ws: TaskWorkspace): Promise<WorkspaceResult> {
  const head = (await git(['rev-parse', 'HEAD'], ws.path)).trim();
  const range = `${ws.base}..HEAD`;
  const log = await git(['log', `--max-count=${MAX_REPORTED_COMMITS}`, '--format=%H%x1f%s%x1e', range, '--'], ws.path);
  const commits = log
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [id = '', subject = ''] = r.split('\x1f');
      return { id, subject: subject.length > MAX_SUBJECT_CHARS ? `${subject.slice(0, MAX_SUBJECT_CHARS - 1)}…` : subject };
    });
  // Three dots: against the merge base, so commits added to the base meanwhile do not count as this task's.
  const stat = parseShortStat(await git(['diff', '--shortstat', `${ws.base}...HEAD`, '--'], ws.path));
  const status = await tryGit(['status', '--porcelain'], ws.path);
  const uncommitted = status.ok ? status.stdout.split('\n').filter(Boolean).length : 0;
  return { branch: ws.branch, base: ws.base, head, commits, ...stat, uncommitted_files: uncommitted };
}

/** The completed task's `result`: exit code and duration, the branch and its changes, a PR link when one was printed. */
export async function completedResult(exit: CommandExit, ws: TaskWorkspace | null): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { exit_code: 0, duration_ms: exit.durationMs };
  if (ws) {
    try {
      Object.assign(result, await describeWorkspace(ws));
    } catch (err) {
      // E.g. the command deleted the base branch: the task still completes, with its branch named.
      Object.assign(result, { branch: ws.branch, base: ws.base, workspace_error: (err as Error).message });
    }
  }
  const prUrl = findPullRequestUrl(exit.stdoutTail, exit.stderrTail);
  if (prUrl) result.pr_url = prUrl;
  return result;
}
