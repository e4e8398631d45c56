// Where the client talks to and who it is: flags first, then the original client's env vars, then defaults.
import { hostname } from 'node:os';
import { UsageError } from './errors.js';
import type { AgentIdentity } from '../client/types.js';

export const DEFAULT_API_URL = 'http://localhost:5051';

export type ClientFlags = { url?: string; key?: string; instance?: string };

export type ClientSettings = { url: string; apiKey: string | undefined; agent: AgentIdentity };

const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);

export function resolveSettings(flags: ClientFlags = {}, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const url = nonEmpty(flags.url) ?? nonEmpty(env.ATHENA_API_URL) ?? DEFAULT_API_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL; set ATHENA_API_URL or --url to e.g. ${DEFAULT_API_URL}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`"${url}" is not an http(s) URL; set ATHENA_API_URL or --url to e.g. ${DEFAULT_API_URL}`);
  }
  const instanceId = nonEmpty(flags.instance) ?? nonEmpty(env.CLAUDE_INSTANCE) ?? hostname();
  // The shown name defaults to the instance id, not the hostname: several agents on one box stay apart.
  const instanceName = nonEmpty(env.CLAUDE_INSTANCE_NAME) ?? instanceId;
  return { url, apiKey: nonEmpty(flags.key) ?? nonEmpty(env.ATHENA_API_KEY), agent: { instanceId, instanceName } };
}
