// What every CLI command receives and returns: commands are plain async functions from input to output.
import type { AthenaClient } from '../../client/index.js';
import type { Style } from '../format.js';
import type { AgentIdentity } from '../../client/types.js';

export type CommandContext = {
  client: AthenaClient;
  agent: AgentIdentity;
  style: Style;
  /** Terminal width for cutting long lines. */
  width: number;
  env: NodeJS.ProcessEnv;
  /** Cancels long waits (SIGINT). */
  signal?: AbortSignal;
};

/** `json` is printed with --json, `text` otherwise. */
export type CommandOutput = { json: unknown; text: string };

/**
 * The lease token to fence a call on task `id`: the flag, else ATHENA_LEASE_TOKEN when the worker
 * runs us for that very task (it sets ATHENA_TASK_ID), else none (the instance id fences).
 */
export function leaseTokenFor(id: number, flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  if (env.ATHENA_LEASE_TOKEN && env.ATHENA_TASK_ID === String(id)) return env.ATHENA_LEASE_TOKEN;
  return undefined;
}
