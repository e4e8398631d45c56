// Live output of the command a task's holder runs: appended by the holder, read by anyone, and
// announced to live subscribers (dashboard streams that ask for it, the Discord thread updater).
import { InvalidError, NotFoundError } from '../errors.js';
import type { OutputRead, Store } from './ports.js';
import { refusalError } from './refusals.js';
import { HELD_STATUSES } from './types.js';

/** Default of OUTPUT_MAX_BYTES: what is kept of each run's output (its newest bytes). */
export const DEFAULT_OUTPUT_MAX_BYTES = 1024 * 1024;
/** Most text one append may carry; a worker sends its buffer in pieces of at most this. */
export const OUTPUT_APPEND_MAX_CHARS = 256 * 1024;

/** New output of a run, as it was stored: `offset` is its first byte in the run's output. */
export type OutputChunk = { taskId: number; run: number; offset: number; text: string; at: number };

export type OutputListener = (chunk: OutputChunk) => void;

/**
 * In-process fan-out of new output. Output is not in the event log (it would flood it): with replicas
 * (PostgreSQL) the output relay (cluster/output-relay.ts) carries what this process stored to the others
 * and publishes theirs here with `publishRelayed`. Everyone can read it back with readOutput, from any replica.
 */
export type OutputFeed = {
  /** Output this process stored: to its subscribers and to `onLocal` listeners (the relay). */
  publish(chunk: OutputChunk): void;
  /** Output another replica stored: to the subscribers only, so it is not relayed back. */
  publishRelayed(chunk: OutputChunk): void;
  subscribe(listener: OutputListener): () => void;
  onLocal(listener: OutputListener): () => void;
};

export function createOutputFeed(onListenerError: (err: unknown) => void = () => {}): OutputFeed {
  const listeners = new Set<OutputListener>();
  const localListeners = new Set<OutputListener>();
  const call = (set: Set<OutputListener>, chunk: OutputChunk) => {
    for (const listener of set) {
      try {
        listener(chunk);
      } catch (err) {
        onListenerError(err);
      }
    }
  };
  return {
    publish(chunk) {
      call(listeners, chunk);
      call(localListeners, chunk);
    },
    publishRelayed(chunk) {
      call(listeners, chunk);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onLocal(listener) {
      localListeners.add(listener);
      return () => localListeners.delete(listener);
    },
  };
}

export type OutputAppend = { leaseToken: string; offset: number; text: string };

export function createTaskOutput(deps: { store: Store; feed: OutputFeed; now: () => number; maxBytes: number }) {
  const { store, feed, now, maxBytes } = deps;
  return {
    /** Live subscribers of new output. */
    output: { subscribe: feed.subscribe },

    /** The holder's command wrote `text`, starting at byte `offset` of this run's output. */
    async appendOutput(id: number, input: OutputAppend): Promise<{ run: number; end: number }> {
      if (!input.leaseToken) throw new InvalidError('lease_token is required to append output');
      if (!Number.isSafeInteger(input.offset) || input.offset < 0) throw new InvalidError('offset must be a whole number of bytes, 0 or more');
      if (input.text.length > OUTPUT_APPEND_MAX_CHARS) throw new InvalidError(`text is longer than ${OUTPUT_APPEND_MAX_CHARS} characters; send it in pieces`);
      const t = now();
      const outcome = await store.appendOutput({ taskId: id, leaseToken: input.leaseToken, offset: input.offset, text: input.text, capBytes: maxBytes, now: t });
      if (!outcome.ok) throw refusalError({ taskId: id, from: HELD_STATUSES, leaseToken: input.leaseToken, set: {}, log: { action: 'output' }, now: t }, outcome.current, undefined, 'append output to');
      if (outcome.stored) feed.publish({ taskId: id, run: outcome.run, offset: outcome.stored.offset, text: outcome.stored.text, at: t });
      return { run: outcome.run, end: outcome.end };
    },

    /** A run's output (default: the latest run) from byte `since`; the oldest bytes beyond the cap are gone. */
    async readOutput(id: number, options: { run?: number; since?: number } = {}): Promise<OutputRead> {
      const task = await store.getTask(id);
      if (!task) throw new NotFoundError(`Task #${id} not found`, { taskId: id });
      const run = options.run ?? task.runs;
      if (run === 0 && task.runs === 0) return { run: 0, start: 0, end: 0, text: '' };
      if (run < 1 || run > task.runs) throw new NotFoundError(`Task #${id} has no attempt ${run} (it was claimed ${task.runs} time(s))`, { taskId: id, runs: task.runs });
      return store.readOutput(id, run, options.since ?? 0, maxBytes);
    },
  };
}
