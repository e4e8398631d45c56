// The server's API key: API_KEY when set, else a strong random key generated once and kept in the data dir.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PRIVATE_FILE_MODE, makePrivateDir, makePrivateFile } from './private-files.js';

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
  makePrivateDir(dirname(path));
  const key = `athena_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path, `${key}\n`, { mode: PRIVATE_FILE_MODE });
  makePrivateFile(path);
  return { key, source: 'generated', path };
}
