// Who is calling: the admin key (API_KEY, constant-time comparison) or a per-agent key found by its hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyStore } from '../core/ports.js';
import type { KeyRole } from '../core/types.js';
import { hashKey } from './keys-secrets.js';

export type Principal = {
  name: string;
  role: KeyRole;
  /** For agent keys: the agent identity every claim and completion acts as. */
  instanceId: string | null;
  /** The api_keys row behind a per-agent key; absent for the admin key. */
  keyId?: number;
};

export type Authenticator = (key: string | undefined) => Promise<Principal | null> | Principal | null;

const digest = (value: string) => createHash('sha256').update(value).digest();

export function singleKeyAuthenticator(apiKey: string): Authenticator {
  const expected = digest(apiKey);
  return (key) => (key !== undefined && timingSafeEqual(digest(key), expected) ? { name: 'api', role: 'admin', instanceId: null } : null);
}

/**
 * How often a key's last_used_at is written at most; a write per request would cost every request a
 * commit. Remembered per replica (a throttle, not state): n replicas write it at most n times a minute.
 */
const TOUCH_EVERY_MS = 60_000;

/**
 * The admin key, then the per-agent keys. A per-agent key is looked up by its SHA-256, so the
 * store never holds a usable key and the lookup reveals nothing about keys that exist.
 */
export function keyAuthenticator(options: { adminKey: string; keys: KeyStore; now?: () => number }): Authenticator {
  const admin = singleKeyAuthenticator(options.adminKey);
  const now = options.now ?? Date.now;
  const touched = new Map<number, number>();
  return async (key) => {
    if (key === undefined || key === '') return null;
    const asAdmin = admin(key) as Principal | null;
    if (asAdmin) return asAdmin;
    const record = await options.keys.findActive(hashKey(key));
    if (!record) return null;
    const t = now();
    if (t - (touched.get(record.id) ?? 0) >= TOUCH_EVERY_MS) {
      touched.set(record.id, t);
      // Only a usage timestamp: failing to write it must not fail the request.
      options.keys.touch(record.id, t).catch(() => touched.delete(record.id));
    }
    return { name: record.name, role: record.role, instanceId: record.instanceId, keyId: record.id };
  };
}
