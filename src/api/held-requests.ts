// Requests that hold their connection for a while (event streams, long-poll claims), by the key they
// came with: revoking a key ends them at once, and keys are re-checked now and then, so a key revoked
// elsewhere (`athena keys revoke`, another replica) cannot keep a stream open either.
import type { KeyStore } from '../core/ports.js';
import type { Principal } from './auth.js';

export type HeldRequest = {
  /** The api_keys row of a per-agent key; null for the admin key (API_KEY), which cannot be revoked. */
  keyId: number | null;
  /** Ends the request now (the key was revoked). */
  end(): void;
};

export type HeldRequests = {
  /** Registers a held request; call the returned function once it is over. */
  hold(principal: Principal | null, end: () => void): () => void;
  /** Ends every request held under this key; returns how many. */
  revoke(keyId: number): number;
  /** Looks up every key with held requests and ends those of revoked or deleted keys. */
  recheck(): Promise<number>;
  /** Requests held under per-agent keys. */
  size(): number;
  /** Stops the periodic re-check (server shutdown). */
  close(): void;
};

export function createHeldRequests(options: { keys?: KeyStore; recheckMs?: number; onError?: (err: unknown) => void } = {}): HeldRequests {
  const recheckMs = options.recheckMs ?? 10_000;
  const byKey = new Map<number, Set<HeldRequest>>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let closed = false;

  function revoke(keyId: number): number {
    const held = byKey.get(keyId);
    if (!held) return 0;
    byKey.delete(keyId);
    for (const request of held) request.end();
    return held.size;
  }

  async function recheck(): Promise<number> {
    if (!options.keys) return 0;
    let ended = 0;
    for (const keyId of [...byKey.keys()]) {
      const record = await options.keys.get(keyId);
      if (!record || record.revokedAt !== null) ended += revoke(keyId);
    }
    return ended;
  }

  /** The timer runs only while per-agent keys hold requests. */
  function schedule(): void {
    if (closed || !options.keys) return;
    if (byKey.size > 0 && !timer) {
      timer = setInterval(() => void recheck().catch((err) => options.onError?.(err)), recheckMs);
      timer.unref();
    } else if (byKey.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  return {
    hold(principal, end) {
      const keyId = principal?.keyId ?? null;
      if (keyId === null) return () => {};
      const request: HeldRequest = { keyId, end };
      const held = byKey.get(keyId) ?? new Set<HeldRequest>();
      held.add(request);
      byKey.set(keyId, held);
      schedule();
      return () => {
        const current = byKey.get(keyId);
        if (current?.delete(request) && current.size === 0) byKey.delete(keyId);
        schedule();
      };
    },
    revoke(keyId) {
      const ended = revoke(keyId);
      schedule();
      return ended;
    },
    async recheck() {
      const ended = await recheck();
      schedule();
      return ended;
    },
    size: () => [...byKey.values()].reduce((n, s) => n + s.size, 0),
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
