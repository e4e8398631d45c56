// One running `athena work` per instance id and server on this machine, as a pid file: how a starting worker
// tells "my previous process crashed" (its tasks may be given back) from "another worker uses my id" (they may not).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type InstanceLock =
  | { ok: true; release(): void }
  /** Another live worker on this machine acts as this instance on this server. */
  | { ok: false; pid: number };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Only this machine is seen: two machines with one instance id are a misconfiguration the docs warn of.
 * A pid reused by an unrelated process after a crash makes the next start skip giving tasks back; their
 * leases then run out as before, so the mistake costs time, never work.
 */
export function lockInstance(apiUrl: string, instanceId: string, dir = join(tmpdir(), `athena-workers-${process.getuid?.() ?? 'user'}`)): InstanceLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${createHash('sha256').update(`${apiUrl}\n${instanceId}`).digest('hex').slice(0, 32)}.pid`);
  // Created with O_EXCL, so of two workers starting at once only one takes it; a dead holder's file is replaced.
  for (let tries = 0; ; tries++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
    }
    let holder: number | null = null;
    try {
      holder = Number(readFileSync(file, 'utf8').trim()) || null;
    } catch {
      continue; // removed in between: try again
    }
    if (holder !== null && holder !== process.pid && alive(holder)) return { ok: false, pid: holder };
    rmSync(file, { force: true });
  }
  return {
    ok: true,
    release() {
      try {
        if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    },
  };
}
