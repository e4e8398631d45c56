// Counts wrong API keys per client address; an address that keeps guessing gets 429 for a while,
// before its next key is even compared. Kept in memory: it slows guessing down, and a restart
// forgetting it costs nothing (generated keys are 256-bit, API_KEY at least 24 characters).
// Per replica on purpose: with n replicas an address gets n times the budget, still a slowdown for
// 256-bit keys; counting in the database would put a write in front of every refused request, which
// is the flood this exists to keep cheap.

export type FailureLimiterOptions = {
  /** Wrong keys an address may present within `windowMs` before it is refused with 429. */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses remembered at most; the oldest are forgotten first. */
  maxTracked?: number;
};

type Entry = { failures: number; since: number; blockedUntil: number };

export type FailureLimiter = {
  /** Seconds until this address may try wrong keys again, or null when it is not blocked. */
  retryAfterSeconds(address: string, now: number): number | null;
  /** Counts one wrong key; returns the seconds to wait when this address is now blocked. */
  recordFailure(address: string, now: number): number | null;
};

export function createFailureLimiter(options: FailureLimiterOptions = {}): FailureLimiter {
  const maxFailures = options.maxFailures ?? 20;
  const windowMs = options.windowMs ?? 60_000;
  const maxTracked = options.maxTracked ?? 10_000;
  const entries = new Map<string, Entry>();

  const secondsLeft = (entry: Entry | undefined, now: number): number | null =>
    entry && entry.blockedUntil > now ? Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000)) : null;

  function forgetOld(now: number): void {
    for (const [address, entry] of entries) {
      if (entry.blockedUntil <= now && now - entry.since >= windowMs) entries.delete(address);
    }
    // Still too many (a flood of distinct addresses): forget the oldest.
    for (const address of entries.keys()) {
      if (entries.size < maxTracked) break;
      entries.delete(address);
    }
  }

  return {
    retryAfterSeconds: (address, now) => secondsLeft(entries.get(address), now),

    recordFailure(address, now) {
      let entry = entries.get(address);
      if (!entry || (now - entry.since >= windowMs && entry.blockedUntil <= now)) {
        if (!entry && entries.size >= maxTracked) forgetOld(now);
        entry = { failures: 0, since: now, blockedUntil: 0 };
        entries.delete(address);
        entries.set(address, entry);
      }
      entry.failures++;
      // Failures counted past the limit (requests already in flight) restart the block.
      if (entry.failures >= maxFailures) entry.blockedUntil = now + windowMs;
      return secondsLeft(entry, now);
    },
  };
}
