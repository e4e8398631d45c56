// Migration 014 on keys made before the reviewer role: every key keeps its id, hash, role and dates; reviewer keys can then be stored.
import { describe, expect, it } from 'vitest';
import { SqlKeyStore } from '../../src/store/keys-store.js';
import type { Db } from '../../src/store/db.js';
import { openBefore } from '../helpers/old-database.js';

const OLD_KEYS = `
  INSERT INTO api_keys (id, name, role, instance_id, key_hash, prefix, created_at, last_used_at, revoked_at) VALUES
    (1, 'builder-1', 'agent', 'builder-1', 'hash-1', 'athena_aaaaa', 1000, 2000, NULL),
    (2, 'grafana', 'reader', NULL, 'hash-2', 'athena_bbbbb', 1100, NULL, NULL),
    (5, 'old-ops', 'admin', NULL, 'hash-5', 'athena_ccccc', 1200, NULL, 3000);
`;

async function expectKeptAndReviewerAllowed(db: Db) {
  expect(await db.migrate()).toContain('014_reviewer_role.sql');
  const keys = new SqlKeyStore(db);
  const before = await keys.list();
  expect(before.map((k) => [k.id, k.name, k.role, k.instanceId, k.createdAt, k.lastUsedAt, k.revokedAt])).toEqual([
    [1, 'builder-1', 'agent', 'builder-1', 1000, 2000, null],
    [2, 'grafana', 'reader', null, 1100, null, null],
    [5, 'old-ops', 'admin', null, 1200, null, 3000],
  ]);
  expect((await keys.findActive('hash-1'))?.id).toBe(1);
  const reviewer = await keys.create({ name: 'rosa', role: 'reviewer', instanceId: null, keyHash: 'hash-6', prefix: 'athena_ddddd' }, 4000);
  // Ids keep counting from the old table's: a revoked key's id is never reused.
  expect(reviewer).toMatchObject({ id: 6, role: 'reviewer' });
  // The constraint still refuses a role nobody knows.
  await expect(keys.create({ name: 'x', role: 'owner' as never, instanceId: null, keyHash: 'hash-7', prefix: 'athena_eeeee' }, 5000)).rejects.toThrow();
}

describe.each(['sqlite', 'postgres'] as const)('migration 014 (reviewer key role) on %s', (backend) => {
  it('keeps every key and then stores reviewer keys', async () => {
    // Ids after a restore continue past the highest, as BIGSERIAL does after real inserts.
    const old = await openBefore(backend, '014', OLD_KEYS, `SELECT setval(pg_get_serial_sequence('api_keys', 'id'), 5)`);
    try {
      await expectKeptAndReviewerAllowed(old.db);
      // SQLite rebuilt the table: the file is still whole.
      if (backend === 'sqlite') expect(await old.db.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await old.cleanup();
    }
  });
});
