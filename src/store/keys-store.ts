// Per-agent API keys over the shared SQL (both backends): rows hold a key's hash, never the key.
import type { ApiKeyRecord, KeyRole } from '../core/types.js';
import type { KeyStore, NewApiKey } from '../core/ports.js';
import type { Db } from './db.js';

type KeyRow = Record<string, unknown>;

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rowToKey(row: KeyRow): ApiKeyRecord {
  return {
    id: Number(row.id),
    name: String(row.name),
    role: row.role as KeyRole,
    instanceId: row.instance_id === null || row.instance_id === undefined ? null : String(row.instance_id),
    prefix: String(row.prefix),
    createdAt: Number(row.created_at),
    lastUsedAt: numOrNull(row.last_used_at),
    revokedAt: numOrNull(row.revoked_at),
  };
}

const COLUMNS = 'id, name, role, instance_id, prefix, created_at, last_used_at, revoked_at';

export class SqlKeyStore implements KeyStore {
  constructor(private readonly db: Db) {}

  async create(key: NewApiKey, now: number): Promise<ApiKeyRecord> {
    const row = await this.db.get<KeyRow>(
      `INSERT INTO api_keys (name, role, instance_id, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
      [key.name, key.role, key.instanceId, key.keyHash, key.prefix, now],
    );
    return rowToKey(row!);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await this.db.all<KeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY id`)).map(rowToKey);
  }

  async get(id: number): Promise<ApiKeyRecord | null> {
    const row = await this.db.get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [id]);
    return row ? rowToKey(row) : null;
  }

  async findActive(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = await this.db.get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL`, [keyHash]);
    return row ? rowToKey(row) : null;
  }

  async revoke(id: number, now: number): Promise<ApiKeyRecord | null> {
    await this.db.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id]);
    return this.get(id);
  }

  async touch(id: number, now: number): Promise<void> {
    await this.db.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', [now, id]);
  }
}
