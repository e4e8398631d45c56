// The server's API key: API_KEY when set, else a strong random key generated once and kept in the data dir.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export type ResolvedKey = { key: string; source: 'env' | 'file' | 'generated'; path: string | null };

export function apiKeyPath(dataDir: string): string {
  return join(resolve(dataDir), 'api-key');
}

export function resolveApiKey(envKey: string | undefined, dataDir: string): ResolvedKey {
  if (envKey) return { key: envKey, source: 'env', path: null };
  const path = apiKeyPath(dataDir);
  if (existsSync(path)) {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 16) return { key, source: 'file', path };
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = `athena_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { key, source: 'generated', path };
}
