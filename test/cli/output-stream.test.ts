// The worker's live output: batching that never blocks, a bounded buffer that rides out an outage,
// and end to end, every line in order on the server across a restart of the server mid-run.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AthenaClient, AthenaError, NetworkError } from '../../src/client/index.js';
import { createOutputStream } from '../../src/cli/output-stream.js';
import { runWorker } from '../../src/cli/worker.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { tempDir } from '../helpers/stores.js';
import { KEY } from './harness.js';

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isFinal = (err: unknown) => err instanceof AthenaError && err.status === 409;

describe('output stream', () => {
  it('sends in order, by offset, and keeps what a failed send carried until it gets through', async () => {
    const received: Array<[number, string]> = [];
    let down = true;
    const stream = createOutputStream({
      intervalMs: 10,
      isFinal,
      async send(offset, text) {
        if (down) throw new NetworkError('http://server', 'connection refused');
        received.push([offset, text]);
      },
    });
    stream.push('stdout', Buffer.from('one\n'));
    stream.push('stderr', Buffer.from('two\n'));
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
    down = false;
    stream.push('stdout', Buffer.from('three ✓'));
    await stream.finish(2000);
    expect(received.map(([, t]) => t).join('')).toBe('one\ntwo\nthree ✓');
    expect(received[0]![0]).toBe(0);
    expect(stream.dropped()).toBe(0);
  });

  it('joins a character split across chunks and drops the oldest bytes when the buffer is full', async () => {
    const received: Array<[number, string]> = [];
    let down = true;
    const stream = createOutputStream({
      intervalMs: 10,
      maxBufferedBytes: 10,
      isFinal,
      async send(offset, text) {
        if (down) throw new NetworkError('http://server', 'down');
        received.push([offset, text]);
      },
    });
    const check = Buffer.from('✓');
    stream.push('stdout', check.subarray(0, 1));
    stream.push('stdout', Buffer.concat([check.subarray(1), Buffer.from('abcdefghijkl')]));
    down = false;
    await stream.finish(2000);
    expect(stream.dropped()).toBe(5);
    expect(received).toEqual([[5, 'cdefghijkl']]);
  });

  it('stops for good when the server says the task is not ours any more', async () => {
    let calls = 0;
    const stream = createOutputStream({
      intervalMs: 10,
      isFinal,
      async send() {
        calls++;
        throw new AthenaError(409, 'LEASE_MISMATCH', 'stale', 'http://server');
      },
    });
    stream.push('stdout', Buffer.from('x'));
    await stream.finish(1000);
    stream.push('stdout', Buffer.from('y'));
    expect(calls).toBe(1);
  });
});

describe('live output end to end', () => {
  it('every line reaches the server in order while the command runs, across a server restart', async () => {
    const dir = tempDir('athena-output-');
    const env = { API_HOST: '127.0.0.1', DB_PATH: join(dir.path, 'athena.db'), API_KEY: KEY, LOG_LEVEL: 'silent', BACKUP_INTERVAL_HOURS: '0' };
    let server: RunningServer = await startServer(loadConfig({ ...env, API_PORT: '0' }), silentLogger);
    const url = server.url;
    const port = new URL(url).port;
    const client = new AthenaClient({ baseUrl: url, apiKey: KEY, timeoutMs: 2000 });
    const stop = new AbortController();
    try {
      const { task_id: id } = await client.create({ description: 'print 60 lines' });
      // Prints a line every 50 ms; the 60 lines take about 3 s.
      const script = 'let i=0;const t=setInterval(()=>{console.log(`line ${++i}`);if(i===60){clearInterval(t)}},50)';
      const worker = runWorker({
        client,
        agent: { instanceId: 'w-out', instanceName: 'w-out' },
        command: `node -e '${script}'`,
        maxTasks: 1,
        graceMs: 5000,
        pollSeconds: 2,
        heartbeatMs: 300,
        outputIntervalMs: 100,
        env: { PATH: process.env.PATH },
        apiUrl: url,
        stop: stop.signal,
      });
      const read = async () => (await fetch(`${url}/api/tasks/${id}/output`, { headers: { 'x-api-key': KEY } }).catch(() => null))?.text();
      // Visible while the command runs.
      await until(async () => (await read())?.includes('line 5\n'), 15_000, 'the first lines');
      expect((await client.get(id)).task.status).toBe('in_progress');
      await server.close();
      await new Promise((r) => setTimeout(r, 800));
      server = await startServer(loadConfig({ ...env, API_PORT: port }), silentLogger);
      const summary = await worker;
      expect(summary.completed).toBe(1);
      const text = await read();
      expect(text).toBe(Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join(''));
    } finally {
      stop.abort();
      await server.close();
      dir.cleanup();
    }
  }, 60_000);
});
