// `athena keys create|list|revoke`: operator commands on per-agent API keys, run beside the server on its
// store (DB_PATH or DATABASE_URL, as `serve` reads them). The key itself is printed once, at creation.
import type { Command } from 'commander';
import { NotFoundError } from './errors.js';
import type { KeyStore } from './core/ports.js';
import type { ApiKeyRecord, KeyRole } from './core/types.js';

type Output = { write(text: string): void };

async function withKeys<T>(fn: (keys: KeyStore) => Promise<T>): Promise<T> {
  const config = (await import('./config.js')).loadConfig();
  const { openStore } = await import('./store/open.js');
  const { SqlKeyStore } = await import('./store/keys-store.js');
  const { db } = await openStore(config);
  try {
    return await fn(new SqlKeyStore(db));
  } finally {
    await db.close();
  }
}

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16));

function keyTable(keys: ApiKeyRecord[]): string {
  const rows = [['ID', 'NAME', 'ROLE', 'INSTANCE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED']];
  for (const k of keys) {
    rows.push([String(k.id), k.name, k.role, k.instanceId ?? '-', `${k.prefix}…`, when(k.createdAt), when(k.lastUsedAt), when(k.revokedAt)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export async function createKeyCommand(name: string, flags: { role: string; instance?: string; json?: boolean }, out: Output): Promise<void> {
  const { issueKey } = await import('./api/keys-secrets.js');
  const { apiKeyJson } = await import('./api/keys-routes.js');
  const role = flags.role as KeyRole;
  // An agent key acts as an agent identity; by default the one named like the key.
  const instanceId = flags.instance ?? (role === 'agent' ? name : null);
  const { key, record } = await withKeys((keys) => issueKey(keys, { name, role, instanceId }, Date.now()));
  if (flags.json) return out.write(`${JSON.stringify({ key, ...apiKeyJson(record) })}\n`);
  out.write(
    `Created ${record.role} key #${record.id} "${record.name}"${record.instanceId ? ` acting as instance ${record.instanceId}` : ''}.\n` +
      `Key (shown only now; Athena keeps only its hash):\n  ${key}\n`,
  );
}

export async function listKeysCommand(flags: { json?: boolean }, out: Output): Promise<void> {
  const { apiKeyJson } = await import('./api/keys-routes.js');
  const keys = await withKeys((store) => store.list());
  if (flags.json) return out.write(`${JSON.stringify({ keys: keys.map(apiKeyJson) })}\n`);
  out.write(keys.length === 0 ? 'No API keys yet (the admin key from API_KEY or the data dir always works).\n' : `${keyTable(keys)}\n`);
}

export async function revokeKeyCommand(idArg: string, flags: { json?: boolean }, out: Output): Promise<void> {
  const id = Number(idArg.replace(/^#/, ''));
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`expected a key id such as 3, got "${idArg}"`);
  const { apiKeyJson } = await import('./api/keys-routes.js');
  const record = await withKeys((keys) => keys.revoke(id, Date.now()));
  if (!record) throw new NotFoundError(`API key #${id} not found (athena keys list shows them)`);
  if (flags.json) return out.write(`${JSON.stringify({ revoked: true, ...apiKeyJson(record) })}\n`);
  out.write(`Revoked key #${record.id} "${record.name}": it is refused from the next request on.\n`);
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage per-agent API keys (admin, agent, reader, reviewer) on this server\'s store');
  keys
    .command('create <name>')
    .description('create a key and print it once')
    .option('--role <role>', 'admin | agent | reader | reviewer', 'agent')
    .option('--instance <id>', 'agent keys: the instance id the key acts as (default: the name)')
    .option('--json', 'print JSON')
    .action((name: string, flags) => createKeyCommand(name, flags, process.stdout));
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action((flags) => listKeysCommand(flags, process.stdout));
  keys
    .command('revoke <id>')
    .description('revoke a key by id')
    .option('--json', 'print JSON')
    .action((id: string, flags) => revokeKeyCommand(id, flags, process.stdout));
}
