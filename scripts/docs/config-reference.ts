// Renders the config schema as the table of docs/configuration.md.
import { configVariables } from '../../src/config-help.js';

export function renderConfigReference(): string {
  const rows = configVariables().map((v) => `| \`${v.name}\` | ${v.default} | ${v.description.replace(/\|/g, '\\|')} |`);
  return ['## Variables', '', '| Variable | Default | Meaning |', '|---|---|---|', ...rows, ''].join('\n');
}
