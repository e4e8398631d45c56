// Abuse below the API: malformed HTTP on raw sockets, oversized headers, lying Content-Length, broken chunked
// bodies, clients that stall or vanish mid-request. The server process stays up, answers every request it
// can parse with a 4xx, and serves normal requests meanwhile.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { tempDir } from '../helpers/stores.js';

/** Sends raw bytes and returns what came back before the server closed or `ms` passed. */
function raw(url: string, payload: string | Buffer, ms = 1000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    socket.setTimeout(ms, done);
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('close', done);
    socket.on('error', done);
    socket.write(payload);
  });
}

describe('raw HTTP abuse against a running server', () => {
  const dir = tempDir('athena-raw-');
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ dataDir: dir.path });
  });
  afterAll(async () => {
    await server?.stop();
    dir.cleanup();
  });

  it('malformed requests get a 4xx or a closed connection; the process keeps serving', async () => {
    const key = server.key;
    const json = (body: string, extra = '') =>
      `POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const cases: Array<[string, string | Buffer]> = [
      ['garbage request line', 'HELLO\r\n\r\n'],
      ['binary noise', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))],
      ['unknown HTTP version', 'GET /api/stats HTTP/9.9\r\nHost: x\r\n\r\n'],
      ['header without colon', `GET /api/stats HTTP/1.1\r\nHost: x\r\nX-API-Key ${key}\r\n\r\n`],
      ['64 KB header', `GET /api/stats HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`],
      ['10,000 headers', `GET /api/stats HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`],
      ['Content-Length larger than the body', json('{"description":"x"}').replace(/Content-Length: \d+/, 'Content-Length: 500')],
      ['negative Content-Length', json('{}').replace(/Content-Length: \d+/, 'Content-Length: -5')],
      ['two Content-Lengths', json('{"description":"x"}', 'Content-Length: 3\r\n')],
      ['Content-Length and chunked', json('{"description":"x"}', 'Transfer-Encoding: chunked\r\n')],
      ['broken chunk size', `POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`],
      ['chunked body over the limit', `POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${'100000\r\n' + 'a'.repeat(0x100000) + '\r\n'}100000\r\n${'a'.repeat(0x100000)}\r\n0\r\n\r\n`],
      ['NUL in the path', 'GET /api/tasks/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n'],
      ['absolute-form URL', `GET http://evil.example/api/stats HTTP/1.1\r\nHost: evil.example\r\nX-API-Key: ${key}\r\n\r\n`],
      ['path traversal', `GET /assets/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['encoded traversal', `GET /assets/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['pipelined garbage after a request', `GET /health HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n`],
    ];
    for (const [what, payload] of cases) {
      const answer = await raw(server.url, payload);
      const status = Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
      // 0: the server closed the connection without answering, which is fine for bytes that are not HTTP.
      expect(status === 0 || (status >= 200 && status < 500), `${what}: ${answer.slice(0, 120)}`).toBe(true);
      expect(answer, what).not.toMatch(/root:x:0:0/);
      if (status === 200) expect(['absolute-form URL', 'pipelined garbage after a request'], `${what} answered 200`).toContain(what);
    }
    expect(server.proc.exitCode).toBeNull();
    expect((await api(server, 'GET', '/api/stats')).status).toBe(200);
  });

  it('clients that stall mid-request or vanish do not hold the server up', async () => {
    const { hostname, port } = new URL(server.url);
    // 200 connections that send half a request and then nothing.
    const stalled = Array.from({ length: 200 }, () => {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => {});
      socket.write(`POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${server.key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"descr`);
      return socket;
    });
    // 200 that send a full request and disconnect before reading the answer.
    for (let i = 0; i < 200; i++) {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => {});
      socket.end(`POST /api/tasks HTTP/1.1\r\nHost: x\r\nX-API-Key: ${server.key}\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{"description":"gone ${String(i).padStart(2, '0')}"}`.slice(0, -1) + '}');
      socket.destroy();
    }
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await api(server, 'POST', '/api/tasks', { description: `served ${i}` })).status).toBe(201);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const s of stalled) s.destroy();
    expect(server.proc.exitCode).toBeNull();
    expect((await api(server, 'GET', '/health')).json.status).toBe('healthy');
  });
});
