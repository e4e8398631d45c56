// Turns `athena work`'s --exec, --agent and --prompt-template into the command run for each task.
import { readFileSync } from 'node:fs';
import { DEFAULT_PROMPT_TEMPLATE, promptValues, renderPrompt, unknownTemplateNames, PROMPT_VALUES } from './agent-prompt.js';
import { presetCommand, type AgentPreset, type TaskCommand } from './agent-presets.js';
import { UsageError } from './errors.js';
import type { TaskJson } from '../client/types.js';
import type { Repository, TaskWorkspace } from './workspace.js';

export type AgentCommandInput = {
  exec?: string;
  agent?: AgentPreset;
  /** A file holding the prompt template. */
  promptTemplate?: string;
  repository?: Repository;
};

export type CommandFor = (task: TaskJson, ws: TaskWorkspace | null) => TaskCommand;

/** Reads and checks the template file: a name that is not a value would reach every agent as literal text. */
export function loadPromptTemplate(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --prompt-template ${file}: ${(err as Error).message}`);
  }
  const unknown = unknownTemplateNames(text);
  if (unknown.length) throw new UsageError(`--prompt-template ${file} uses ${unknown.map((n) => `{{${n}}}`).join(', ')}; known values: ${PROMPT_VALUES.join(', ')}`);
  if (!text.trim()) throw new UsageError(`--prompt-template ${file} is empty`);
  return text;
}

/** Checks the flags; returns the per-task command maker, or undefined for a plain --exec (the task as JSON on stdin, as always). */
export function agentCommandFor(input: AgentCommandInput): CommandFor | undefined {
  const exec = input.exec?.trim() ? input.exec : undefined;
  const preset: AgentPreset | undefined = input.agent ?? (input.promptTemplate ? 'generic' : undefined);
  if (!preset) {
    if (!exec) throw new UsageError('give the command to run per task: --exec CMD, or an agent preset: --agent claude|codex|aider|gemini|generic');
    return undefined;
  }
  if (preset === 'generic' && !exec) throw new UsageError('--agent generic runs your own command: give it with --exec (it finds the prompt in ATHENA_PROMPT)');
  if (preset !== 'generic' && exec) throw new UsageError(`--agent ${preset} runs its own command: leave out --exec, or use --agent generic --exec CMD`);
  const template = input.promptTemplate ? loadPromptTemplate(input.promptTemplate) : DEFAULT_PROMPT_TEMPLATE;
  return (task, ws) => {
    const prompt = renderPrompt(template, promptValues(task, ws));
    return presetCommand(preset, { prompt, taskJson: `${JSON.stringify(task)}\n`, exec, gitCommonDir: input.repository?.gitCommonDir });
  };
}
