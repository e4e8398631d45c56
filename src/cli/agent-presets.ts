// `athena work --agent NAME`: the non-interactive command line of each supported agent CLI, with the
// task's prompt as one argument (no shell). docs/agents.md lists each command and the flags it relies on.
export const AGENT_PRESETS = ['claude', 'codex', 'aider', 'gemini', 'generic'] as const;
export type AgentPreset = (typeof AGENT_PRESETS)[number];

/** What the worker runs for one task: a shell string (--exec) or an argument list, its stdin and extra env. */
export type TaskCommand = { command: string | string[]; stdin: string; env: Record<string, string> };

export type PresetInput = {
  prompt: string;
  /** The task as JSON, the stdin of --exec commands. */
  taskJson: string;
  /** The operator's --exec (generic only). */
  exec?: string;
  /** Set with --repo: the repository's shared .git, which a sandboxed agent must be allowed to write to commit. */
  gitCommonDir?: string;
};

/**
 * Each agent's command. The prompt is also in ATHENA_PROMPT for every preset. Presets get an empty stdin:
 * codex and gemini append piped stdin to the prompt.
 */
export function presetCommand(preset: AgentPreset, input: PresetInput): TaskCommand {
  const env = { ATHENA_PROMPT: input.prompt };
  const argv = (...args: string[]): TaskCommand => ({ command: args, stdin: '', env });
  switch (preset) {
    case 'claude':
      // -p: answer and exit; acceptEdits: file edits need no approval; git (to commit) is allowed in Bash.
      return argv('claude', '-p', input.prompt, '--permission-mode', 'acceptEdits', '--allowedTools', 'Bash(git:*)', '--output-format', 'text');
    case 'codex': {
      // exec: non-interactive; --full-auto: workspace-write sandbox without approval prompts. A worktree's
      // git data lives in the repository's .git, outside the sandbox: --add-dir makes it writable so commits work.
      const addDir = input.gitCommonDir ? ['--add-dir', input.gitCommonDir] : [];
      return argv('codex', 'exec', '--full-auto', ...addDir, input.prompt);
    }
    case 'aider':
      // --message: one request, then exit; --yes-always: no questions; aider commits its changes itself.
      return argv('aider', '--yes-always', '--no-pretty', '--no-check-update', '--message', input.prompt);
    case 'gemini':
      // -p: non-interactive; --yolo: tool calls (edits, shell, git) need no approval.
      return argv('gemini', '--yolo', '-p', input.prompt);
    case 'generic':
      // Your own command (--exec), run by the shell as without a preset; it finds the prompt in ATHENA_PROMPT.
      return { command: input.exec ?? '', stdin: input.taskJson, env };
  }
}
