// API key check for /api routes: constant-time comparison against the configured key.
import { createHash, timingSafeEqual } from 'node:crypto';

export type Principal = { name: string; role: 'admin' | 'agent' | 'reader'; instanceId: string | null };

export type Authenticator = (key: string | undefined) => Promise<Principal | null> | Principal | null;

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function singleKeyAuthenticator(apiKey: string): Authenticator {
  const expected = digest(apiKey);
  return (key) => (key !== undefined && timingSafeEqual(digest(key), expected) ? { name: 'api', role: 'admin', instanceId: null } : null);
}
