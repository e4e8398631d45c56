// A small Server-Sent Events reader over node:http for tests: collects frames and waits for the ones a test expects.

import { get, type IncomingMessage } from 'node:http';

export type SseFrame = { event: string; id: number | null; data: any; comment: boolean };

export type SseClient = {
  status: number;
  frames: SseFrame[];
  /** Resolves with the first frame (from `from` on) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (f: SseFrame) => boolean, timeoutMs?: number, from?: number): Promise<SseFrame>;
  /** Task frames received so far. */
  taskIds(): number[];
  /** Resolves once the server ends the stream. */
  ended: Promise<void>;
  close(): void;
};

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  // node:http without an agent: fetch's pool would open a spare connection on abort that delays server.close().
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
  });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());

  const parse = (block: string) => {
    const frame: SseFrame = { event: 'message', id: null, data: null, comment: false };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) frame.comment = true;
      else if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length) frame.data = JSON.parse(data.join('\n'));
    frames.push(frame);
    notify();
  };

  let done = false;
  const ended = (async () => {
    res.setEncoding('utf8');
    let pending = '';
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        pending += chunk;
        let cut;
        while ((cut = pending.indexOf('\n\n')) !== -1) {
          parse(pending.slice(0, cut));
          pending = pending.slice(cut + 2);
        }
      }
    } catch {
      // destroyed by close()
    } finally {
      done = true;
      notify();
    }
  })();

  return {
    status: res.statusCode ?? 0,
    frames,
    ended,
    taskIds: () => frames.filter((f) => f.event === 'task').map((f) => f.id!),
    waitFor(pred, timeoutMs = 5000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(from).find(pred);
          if (found) {
            cleanup();
            resolve(found);
          } else if (done) {
            cleanup();
            reject(new Error(`stream ended without the expected frame; got ${JSON.stringify(frames.map((f) => [f.event, f.id]))}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out; frames so far: ${JSON.stringify(frames.map((f) => [f.event, f.id]))}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => res.destroy(),
  };
}
