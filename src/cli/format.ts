// Human output of the CLI: colors only on a TTY, aligned columns, short times in the local time zone (TZ).
import type { Priority, TaskJson, TaskStatus } from '../client/types.js';

export type Style = {
  color: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
};

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export function makeStyle(color: boolean): Style {
  return {
    color,
    bold: wrap(color, 1, 22),
    dim: wrap(color, 2, 22),
    red: wrap(color, 31, 39),
    green: wrap(color, 32, 39),
    yellow: wrap(color, 33, 39),
    cyan: wrap(color, 36, 39),
  };
}

/** Colors when the stream is a terminal and NO_COLOR is unset (FORCE_COLOR forces them). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const ANSI = /\x1b\[[0-9;]*m/g;
export const visibleLength = (s: string) => s.replace(ANSI, '').length;

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function columns(rows: string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd());
}

export function truncate(s: string, max: number): string {
  const oneLine = s.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, Math.max(1, max - 1))}…`;
}

export function priorityText(p: Priority, style: Style): string {
  return p === 'high' ? style.red(p) : p === 'medium' ? style.yellow(p) : style.dim(p);
}

export function statusText(s: TaskStatus, style: Style): string {
  switch (s) {
    case 'completed':
      return style.green(s);
    case 'failed':
      return style.red(s);
    case 'in_progress':
    case 'needs_input':
      return style.cyan(s);
    case 'in_review':
      return style.yellow(s);
    case 'cancelled':
    case 'blocked':
      return style.dim(s);
    default:
      return s;
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** "14:03:10" today, "2026-01-05 14:03" otherwise; local time (TZ). */
export function shortTime(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const today = new Date(now);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (d.toDateString() === today.toDateString()) return `${time}:${pad2(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${time}`;
}

/** "42s", "5m", "3h", "2d": how long ago (or, for future times, how long until). */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.abs(Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad2(Math.floor((s % 3600) / 60))}m`;
}

/** A pending task that may not start yet (run_after in the future). */
export function scheduled(t: Pick<TaskJson, 'status' | 'run_after'>, now = Date.now()): boolean {
  return t.status === 'pending' && t.run_after !== null && Date.parse(t.run_after) > now;
}

/** "pending", or "pending ⏰ 09:00" for a task scheduled for later. */
function statusCell(t: TaskJson, style: Style): string {
  return scheduled(t) ? `${statusText(t.status, style)} ⏰ ${shortTime(t.run_after)}` : statusText(t.status, style);
}

/** One line per task: "#4  high  pending  5m  Fix the flaky login test". */
export function taskRows(tasks: TaskJson[], style: Style, width = 100): string[] {
  const rows = tasks.map((t) => [
    style.bold(`#${t.id}`),
    priorityText(t.priority, style),
    statusCell(t, style),
    age(t.created_at),
    t.instance_name ?? t.instance_id ?? '',
    t.description,
  ]);
  const header = ['ID', 'PRIORITY', 'STATUS', 'AGE', 'AGENT', 'DESCRIPTION'].map(style.dim);
  const showAgent = tasks.some((t) => t.instance_id);
  const pick = (row: string[]) => (showAgent ? row : row.filter((_, i) => i !== 4));
  const lines = columns([pick(header), ...rows.map(pick)]);
  // Cut long descriptions to the terminal width.
  return lines.map((line) => (visibleLength(line) > width ? truncateVisible(line, width) : line));
}

function truncateVisible(line: string, width: number): string {
  const plain = line.replace(ANSI, '');
  if (plain === line) return `${line.slice(0, width - 1)}…`;
  // Colored text: cut only the trailing description, which carries no color codes.
  const over = visibleLength(line) - width + 1;
  return `${line.slice(0, Math.max(0, line.length - over))}…`;
}

/** "#4 [high] Fix the flaky login test" */
export function taskTitle(t: TaskJson, style: Style, max = 100): string {
  const when = scheduled(t) ? ` ⏰ ${shortTime(t.run_after)}` : '';
  return `${style.bold(`#${t.id}`)} [${priorityText(t.priority, style)}]${when} ${truncate(t.description, max)}`;
}
