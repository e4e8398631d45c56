// Making per-agent API keys: a high-entropy random key, its SHA-256 (all the store keeps), its display prefix.
import { createHash, randomBytes } from 'node:crypto';
import { InvalidError } from '../errors.js';
import { LIMITS } from '../core/limits.js';
import type { KeyStore } from '../core/ports.js';
import { KEY_ROLES, type ApiKeyRecord, type KeyRole } from '../core/types.js';

const KEY_PREFIX = 'athk_';
/** Characters shown in lists: the marker plus 8 random characters (48 bits; not enough to guess the rest). */
const SHOWN_CHARS = KEY_PREFIX.length + 8;

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export type IssueKeyInput = { name: string; role: KeyRole; instanceId?: string | null };

/** Validates, creates and stores a key; the returned `key` is the only time the secret is seen. */
export async function issueKey(keys: KeyStore, input: IssueKeyInput, now: number): Promise<{ key: string; record: ApiKeyRecord }> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InvalidError('name must be 1 to 200 characters');
  if (!KEY_ROLES.includes(input.role)) throw new InvalidError(`role must be one of ${KEY_ROLES.join(', ')}`);
  const instanceId = input.instanceId?.trim() || null;
  if (input.role === 'agent' && !instanceId) {
    throw new InvalidError('an agent key needs an instance id: the agent identity its claims and completions act as');
  }
  if (input.role !== 'agent' && instanceId) throw new InvalidError('only agent keys carry an instance id');
  if (instanceId && instanceId.length > LIMITS.instanceIdMax) throw new InvalidError(`instance id is longer than ${LIMITS.instanceIdMax} characters`);
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = await keys.create({ name, role: input.role, instanceId, keyHash: hashKey(key), prefix: key.slice(0, SHOWN_CHARS) }, now);
  return { key, record };
}
