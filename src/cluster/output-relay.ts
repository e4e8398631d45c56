// Cross-replica live output: what one replica stored is announced on the others' output feeds too, so a
// dashboard stream (/api/events?include=output) or the Discord thread updater sees it wherever it is served.
import type { OutputChunk, OutputFeed } from '../core/task-output.js';
import type { OutputRead } from '../core/ports.js';
import type { Logger } from '../logger.js';
import type { Db, DedicatedSession } from '../store/db.js';
import { listenForOutput, notifyOutput, NOTIFY_PAYLOAD_MAX_BYTES } from '../store/session-statements.js';
import { rareWarnings } from './connections.js';
import { listenSession, type ListenSession } from './listen-session.js';

export type OutputRelayOptions = {
  db: Db;
  feed: OutputFeed;
  /** Reads a stored run's output back: how a chunk too large for a notification reaches the others. */
  readOutput(taskId: number, options: { run: number; since: number }): Promise<OutputRead>;
  signal: AbortSignal;
  log: Logger;
  /** The session to listen and notify on, shared with the event feed (started by the caller); absent: one of its own. */
  listen?: ListenSession;
};

export type OutputRelay = {
  /** Settles once this replica listens (or the relay stopped); on SQLite at once. */
  ready: Promise<void>;
  stopped: Promise<void>;
};

/** A chunk in a notification: its text inline (`x`), or only its length in bytes (`n`), read back from the store. */
type Entry = { t: number; r: number; o: number; a: number; x?: string; n?: number };
type Message = { s: string; c: Entry[] };

/** Text longer than this goes as a pointer: a notification stays small, and one chunk cannot crowd out the rest. */
const INLINE_MAX_BYTES = 4000;
/** Chunks waiting for a notification at most; beyond it the oldest are dropped (they stay readable from the store). */
const MAX_PENDING = 5000;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function entryOf(chunk: OutputChunk): Entry {
  const base = { t: chunk.taskId, r: chunk.run, o: chunk.offset, a: chunk.at };
  const length = bytes(chunk.text);
  return length <= INLINE_MAX_BYTES ? { ...base, x: chunk.text } : { ...base, n: length };
}

/**
 * Where the backend cannot listen (SQLite: one process) there is no other replica: nothing to do.
 *
 * On PostgreSQL, output is not written to task_logs (it would flood the event log), so the event feed
 * does not carry it. Instead each replica sends the chunks it stored as NOTIFY payloads on its LISTEN
 * session (listen-session.ts), after they committed: small chunks inline, larger ones as (task, run, offset, length), which the
 * receivers read back from task_output. Several chunks fold into one notification while one is in flight.
 * Receivers handle notifications one at a time, so a task's chunks keep their order. Like the output
 * events themselves, this is live only: a notification lost while a LISTEN session reconnects loses those
 * lines from the stream, never from the store (GET /api/tasks/:id/output has them).
 */
export function startOutputRelay(options: OutputRelayOptions): OutputRelay {
  if (!options.db.capabilities.listen) return { ready: Promise.resolve(), stopped: Promise.resolve() };
  const { db, feed, signal } = options;
  const log = options.log.child({ component: 'output-relay' });
  let session: DedicatedSession | null = null;
  let schema = '';
  let pending: OutputChunk[] = [];
  let sending = false;
  let received: Promise<void> = Promise.resolve();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const warn = rareWarnings(log, signal);

  /** The entries of the next notification, taken from the front of `pending`. */
  function nextPayload(): string {
    const message: Message = { s: schema, c: [] };
    let size = bytes(JSON.stringify(message));
    while (pending.length > 0) {
      const entry = entryOf(pending[0]!);
      const entrySize = bytes(JSON.stringify(entry)) + 1;
      if (size + entrySize > NOTIFY_PAYLOAD_MAX_BYTES && message.c.length > 0) break;
      message.c.push(entry);
      size += entrySize;
      pending.shift();
    }
    return JSON.stringify(message);
  }

  async function send(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (pending.length > 0 && session && !signal.aborted) await notifyOutput(session, nextPayload());
    } catch (err) {
      pending = [];
      warn(err, 'NOTIFY of live output failed; other replicas miss those lines live (they stay readable)');
    } finally {
      sending = false;
    }
  }

  const unsubscribe = feed.onLocal((chunk) => {
    if (!session) return; // not listening: nobody would get it in time anyway
    pending.push(chunk);
    if (pending.length > MAX_PENDING) pending = pending.slice(pending.length - MAX_PENDING);
    void send();
  });

  async function deliver(entry: Entry): Promise<void> {
    if (entry.x !== undefined) {
      feed.publishRelayed({ taskId: entry.t, run: entry.r, offset: entry.o, text: entry.x, at: entry.a });
      return;
    }
    const length = entry.n ?? 0;
    const read = await options.readOutput(entry.t, { run: entry.r, since: entry.o });
    // The cap may have dropped the chunk's start (or all of it) by now; what is left of it is sent.
    const end = entry.o + length;
    if (read.start >= end) return;
    const text = Buffer.from(read.text, 'utf8').subarray(0, end - read.start).toString('utf8');
    if (text) feed.publishRelayed({ taskId: entry.t, run: entry.r, offset: read.start, text, at: entry.a });
  }

  function onPayload(payload: string): void {
    received = received.then(async () => {
      let message: Message;
      try {
        message = JSON.parse(payload) as Message;
      } catch {
        return;
      }
      if (message.s !== schema || !Array.isArray(message.c)) return; // another queue on this database
      for (const entry of message.c) {
        try {
          await deliver(entry);
        } catch (err) {
          warn(err, 'reading relayed live output failed');
        }
      }
    });
  }

  const listen = options.listen ?? listenSession({ db, signal, log: options.log });
  listen.use({
    setup: async (client) => {
      schema = await listenForOutput(client, onPayload);
    },
    up: (client) => {
      session = client;
      markReady();
    },
    down: () => {
      session = null;
    },
  });
  if (!options.listen) listen.start();

  const stopped = listen.stopped.then(async () => {
    unsubscribe();
    await received;
  });
  void stopped.then(markReady);
  return { ready, stopped };
}
