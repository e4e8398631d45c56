// The prompt an agent preset gets for a task: a template with {{name}} values and {{#name}}…{{/name}}
// sections (kept when the value is not empty; {{^name}}…{{/name}} when it is). Task text is inserted
// after the sections are decided and is never read as template syntax.
import type { TaskJson } from '../client/types.js';

export const DEFAULT_PROMPT_TEMPLATE = `You are working on task #{{id}} from the Athena task queue{{#project}} (project {{project}}){{/project}}.

Task:
{{description}}{{#notes}}

Notes:
{{notes}}{{/notes}}{{#feedback}}

A reviewer looked at the previous attempt and asked for changes:
{{feedback}}{{/feedback}}

{{#branch}}You are in a git worktree on branch {{branch}}, which started from {{base}}{{#continued}} and holds the commits of earlier attempts{{/continued}}. Commit your work on this branch with clear commit messages before you finish; do not switch branches.{{/branch}}{{^branch}}Commit your work before you finish.{{/branch}}
`;

/** The values a template may use. */
export const PROMPT_VALUES = ['id', 'description', 'notes', 'feedback', 'project', 'labels', 'priority', 'attempt', 'branch', 'base', 'continued'] as const;
export type PromptValue = (typeof PROMPT_VALUES)[number];

export type PromptWorkspace = { branch: string; base: string; continued: boolean };

/**
 * Review feedback from a person who sent earlier work back. Read defensively: servers without reviews
 * do not send the field.
 */
export function reviewFeedback(task: TaskJson): string {
  const t = task as TaskJson & { review_feedback?: unknown; feedback?: unknown };
  const value = t.review_feedback ?? t.feedback;
  return typeof value === 'string' ? value : '';
}

export function promptValues(task: TaskJson, ws: PromptWorkspace | null): Record<PromptValue, string> {
  return {
    id: String(task.id),
    description: task.description,
    notes: task.notes ?? '',
    feedback: reviewFeedback(task),
    project: task.project ?? '',
    labels: task.labels.join(', '),
    priority: task.priority,
    attempt: String(task.attempts),
    branch: ws?.branch ?? '',
    base: ws?.base ?? '',
    continued: ws?.continued ? 'yes' : '',
  };
}

const SECTION = /\{\{([#^])(\w+)\}\}([\s\S]*?)\{\{\/\2\}\}/g;
const VALUE = /\{\{(\w+)\}\}/g;

/** Names used in a template that are not values: a typo would otherwise reach every agent as literal text. */
export function unknownTemplateNames(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(/\{\{[#^/]?(\w+)\}\}/g)) if (!(PROMPT_VALUES as readonly string[]).includes(m[1]!)) names.add(m[1]!);
  return [...names];
}

export function renderPrompt(template: string, values: Record<PromptValue, string>): string {
  const get = (name: string) => (values as Record<string, string | undefined>)[name] ?? '';
  // Sections first, repeatedly for nested ones, on the template alone.
  let shaped = template;
  for (let i = 0; i < 5; i++) {
    const next = shaped.replace(SECTION, (_m, kind: string, name: string, body: string) => ((get(name) !== '') === (kind === '#') ? body : ''));
    if (next === shaped) break;
    shaped = next;
  }
  // One pass: inserted text is not scanned again, so `{{…}}` in a task stays as typed.
  const text = shaped.replace(VALUE, (_m, name: string) => get(name)).trim();
  // The prompt is an argument of the agent's CLI: text starting with "-" would be read as a flag.
  return text.startsWith('-') ? `Task:\n${text}` : text;
}
