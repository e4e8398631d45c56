// Reads what `athena work --repo` put in a task's `result` (branch, commits, diff stat, PR link), for the
// CLI, Discord and the dashboard. Any agent may send any JSON as a result: every field is checked, and a
// value of the wrong shape is left out rather than shown.

export type WorkSummary = {
  branch: string | null;
  base: string | null;
  head: string | null;
  commits: number | null;
  filesChanged: number | null;
  insertions: number | null;
  deletions: number | null;
  prUrl: string | null;
  exitCode: number | null;
  durationMs: number | null;
};

/** Branch and base names as git allows them, without spaces, markup or control characters. */
const REF = /^[A-Za-z0-9._/-]{1,200}$/;
const SHA = /^[0-9a-f]{7,64}$/;
/** Only a GitHub or GitLab pull/merge request link on https is shown as a link. */
const PR_URL = /^https:\/\/[A-Za-z0-9.-]+(?::\d+)?\/[A-Za-z0-9_.~/-]+\/(?:pull\/\d+|-\/merge_requests\/\d+)$/;

const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);
const text = (v: unknown, re: RegExp) => (typeof v === 'string' && re.test(v) ? v : null);

/** The summary of a result, or null when it says nothing about a run (not an object, no known field). */
export function readWorkSummary(result: unknown): WorkSummary | null {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return null;
  const r = result as Record<string, unknown>;
  const summary: WorkSummary = {
    branch: text(r.branch, REF),
    base: text(r.base, REF),
    head: text(r.head, SHA),
    commits: Array.isArray(r.commits) ? r.commits.length : null,
    filesChanged: count(r.files_changed),
    insertions: count(r.insertions),
    deletions: count(r.deletions),
    prUrl: text(r.pr_url, PR_URL),
    exitCode: typeof r.exit_code === 'number' && Number.isSafeInteger(r.exit_code) ? r.exit_code : null,
    durationMs: count(r.duration_ms),
  };
  return summary.branch || summary.prUrl ? summary : null;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "1 commit, 3 files, +10 -2": what the branch holds, from the fields present. */
export function changeLine(s: WorkSummary): string {
  const parts: string[] = [];
  if (s.commits !== null) parts.push(plural(s.commits, 'commit'));
  if (s.filesChanged !== null) parts.push(plural(s.filesChanged, 'file'));
  if (s.insertions !== null || s.deletions !== null) parts.push(`+${s.insertions ?? 0} -${s.deletions ?? 0}`);
  return parts.join(', ');
}
