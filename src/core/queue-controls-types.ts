// Pauses and concurrency limits: what an operator sets to stop or narrow the flow of claims, and their scopes.

/** What a pause covers: the whole queue, or the tasks of one label or one project. */
export type PauseScope = { kind: 'queue' } | { kind: 'label' | 'project'; value: string };
/** What a concurrency limit counts: the held tasks of one label or one project. */
export type LimitScope = { kind: 'label' | 'project'; value: string };

export type Pause = {
  /** `queue`, `label:<name>` or `project:<name>`, as every surface writes it. */
  scope: string;
  pausedBy: string | null;
  reason: string | null;
  pausedAt: number;
};

export type ConcurrencyLimit = {
  /** `label:<name>` or `project:<name>`. */
  scope: string;
  max: number;
  /** Tasks of this scope held by agents now (in progress or waiting for input). */
  held: number;
  setBy: string | null;
  updatedAt: number;
};

/** Limits and pauses as a claim applies them. */
export type ClaimControls = { pauses: PauseScope[]; limits: Array<LimitScope & { max: number }> };

export function scopeText(scope: PauseScope): string {
  return scope.kind === 'queue' ? 'queue' : `${scope.kind}:${scope.value}`;
}
