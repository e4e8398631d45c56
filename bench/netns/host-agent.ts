// Runs inside a host's network namespace and does there what the parent asks over the IPC channel:
// HTTP requests, the agents' lease cycles (bench/cycles.ts), SQL and its round trip. The load generator of the network
// benchmark is one of these; the parent (remote-host.ts) starts it with `ip netns exec`.
import pg from 'pg';
import { driveCycles, type CycleMode } from '../cycles.js';
import { createClient } from '../http-client.js';

export type HostRequest =
  | { op: 'http'; key: string; url: string; method: string; path: string; body?: unknown; timeoutMs: number }
  | { op: 'cycles'; key: string; urls: string[]; agents: number; seconds: number; mode: CycleMode }
  | { op: 'sql'; url: string; sql: string }
  | { op: 'sqlRoundTrip'; url: string; count: number };

async function handle(request: HostRequest): Promise<unknown> {
  switch (request.op) {
    case 'http': {
      const res = await fetch(`${request.url}${request.path}`, {
        method: request.method,
        headers: { 'x-api-key': request.key, ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    }
    case 'cycles': {
      const clients = request.urls.map((url) => createClient(url, request.key, request.agents * 2));
      try {
        return await driveCycles(clients, request);
      } finally {
        for (const c of clients) c.close();
      }
    }
    case 'sql': {
      const client = new pg.Client({ connectionString: request.url });
      await client.connect();
      try {
        return (await client.query(request.sql)).rows;
      } finally {
        await client.end();
      }
    }
    case 'sqlRoundTrip': {
      // The median of `count` SELECT 1 on one connection: the round trip the network adds, and the rest.
      const client = new pg.Client({ connectionString: request.url });
      await client.connect();
      try {
        const times: number[] = [];
        for (let i = 0; i < request.count; i++) {
          const t0 = performance.now();
          await client.query('SELECT 1');
          times.push(performance.now() - t0);
        }
        return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
      } finally {
        await client.end();
      }
    }
  }
}

process.on('message', (message: { id: number; request: HostRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ id: message.id, ok: true, result }),
    (err: Error) => process.send!({ id: message.id, ok: false, error: err.message }),
  );
});
// The parent went away: nothing left to do here.
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
