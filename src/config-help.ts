// The config schema in words (each variable's default and meaning), for `athena serve --help` and docs/configuration.md.
import { z } from 'zod';
import { configSchema } from './config.js';

export type ConfigVariable = { name: string; default: string; description: string };

/** The variables `athena serve --help` lists; docs/configuration.md lists them all. */
export const MAIN_VARIABLES = ['API_HOST', 'API_PORT', 'API_KEY', 'DB_PATH', 'DATABASE_URL', 'DISCORD_TOKEN', 'DISCORD_GUILD_ID', 'LEASE_SECONDS', 'LOG_LEVEL', 'TZ'];

function shownDefault(schema: z.ZodType, whenUnset: unknown): string {
  if (typeof whenUnset === 'string') return whenUnset;
  if (schema instanceof z.ZodDefault) {
    const value: unknown = schema.def.defaultValue;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    return text === '' ? '' : `\`${text}\``;
  }
  return '';
}

/** Every variable of the config schema, in the schema's order. */
export function configVariables(): ConfigVariable[] {
  return Object.entries(configSchema.shape).map(([name, schema]) => {
    const meta = z.globalRegistry.get(schema) ?? {};
    return { name, default: shownDefault(schema, meta.whenUnset), description: meta.description ?? '' };
  });
}

/** The text after `athena serve --help`: the main variables, and where the rest are. */
export function serveHelpText(): string {
  const main = configVariables().filter((v) => MAIN_VARIABLES.includes(v.name));
  const width = Math.max(...main.map((v) => v.name.length));
  const lines = main.map((v) => {
    const plain = (text: string) => text.replace(/`/g, '');
    // Only real defaults: a computed one ("generated") is already said in the description.
    const shown = v.default.startsWith('`') ? ` (default ${plain(v.default)})` : '';
    return `  ${v.name.padEnd(width)}  ${plain(v.description)}${shown}`;
  });
  return [
    '',
    'Environment (also read from ./.env; the real environment wins):',
    ...lines,
    '',
    'Every variable, with its default: docs/configuration.md',
  ].join('\n');
}
