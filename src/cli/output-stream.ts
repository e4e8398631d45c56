// Sends a running command's output to the server in batches (every ~500 ms) without ever blocking the
// command: output waits in a bounded buffer, so a server that is down for a while loses nothing that
// fits; past the bound the oldest unsent bytes go (the server then has a gap, never a reordering).
import { StringDecoder } from 'node:string_decoder';

export type OutputStreamOptions = {
  /** Sends `text`, which starts at byte `offset` of the run's output; resolves once the server has it. */
  send(offset: number, text: string): Promise<void>;
  /** Whether a failed send means the task is no longer ours (stop sending) rather than a passing outage. */
  isFinal(err: unknown): boolean;
  intervalMs?: number;
  /** Most unsent bytes kept while the server does not take them. */
  maxBufferedBytes?: number;
  /** Most bytes per request. */
  maxBatchBytes?: number;
};

export type OutputStream = {
  /** Takes a chunk the command wrote; returns at once. */
  push(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /** Sends what is left, trying until `timeoutMs` has passed; then stops. */
  finish(timeoutMs: number): Promise<void>;
  /** Bytes dropped because the buffer was full. */
  dropped(): number;
};

/** Where to cut `bytes` at or before `at` so that no UTF-8 character is split. */
function charBoundary(bytes: Buffer, at: number): number {
  let cut = Math.min(at, bytes.length);
  while (cut > 0 && cut < bytes.length && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

export function createOutputStream(options: OutputStreamOptions): OutputStream {
  const intervalMs = options.intervalMs ?? 500;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const maxBatch = options.maxBatchBytes ?? 64 * 1024;
  // One decoder per pipe: a character split across two chunks of one pipe is joined before sending.
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  let chunks: Buffer[] = [];
  let buffered = 0;
  /** Offset of the first unsent byte. */
  let offset = 0;
  let droppedBytes = 0;
  let sending: Promise<void> | null = null;
  let stopped = false;

  const pending = (): Buffer => {
    if (chunks.length !== 1) chunks = [Buffer.concat(chunks)];
    return chunks[0] ?? Buffer.alloc(0);
  };

  function push(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (stopped) return;
    const text = decoders[stream].write(chunk);
    if (!text) return;
    const bytes = Buffer.from(text, 'utf8');
    chunks.push(bytes);
    buffered += bytes.length;
    if (buffered > maxBuffered) {
      const all = pending();
      const drop = charBoundary(all, all.length - maxBuffered) || Math.min(all.length, all.length - maxBuffered);
      chunks = [all.subarray(drop)];
      buffered = all.length - drop;
      offset += drop;
      droppedBytes += drop;
    }
  }

  /** One request with the oldest unsent bytes; on success they are gone from the buffer. */
  function flush(): Promise<void> {
    if (sending || stopped || buffered === 0) return sending ?? Promise.resolve();
    const all = pending();
    const size = charBoundary(all, maxBatch) || Math.min(all.length, maxBatch);
    const batch = all.subarray(0, size);
    const at = offset;
    sending = options
      .send(at, batch.toString('utf8'))
      .then(
        () => {
          // Bytes dropped while this was in flight moved the offset on: take off only what is still there.
          const sent = Math.max(0, at + size - offset);
          const rest = pending().subarray(sent);
          chunks = [rest];
          buffered = rest.length;
          offset += sent;
        },
        (err: unknown) => {
          if (options.isFinal(err)) {
            stopped = true;
            chunks = [];
            buffered = 0;
          }
          // Otherwise the bytes stay and the next tick sends them again (same offset: stored once).
        },
      )
      .finally(() => {
        sending = null;
      });
    return sending;
  }

  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();

  return {
    push,
    async finish(timeoutMs) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = decoders[stream].end();
        if (rest) push(stream, Buffer.from(rest, 'utf8'));
      }
      clearInterval(timer);
      const deadline = Date.now() + timeoutMs;
      while (!stopped && (buffered > 0 || sending) && Date.now() < deadline) {
        await flush();
        if (buffered > 0 && !stopped) await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
      }
      stopped = true;
    },
    dropped: () => droppedBytes,
  };
}
