// The "last lines" of a running task's output, posted in its Discord thread at most every
// OUTPUT_DISCORD_SECONDS: output arriving in between is coalesced into the next update.
import type { OutputChunk } from '../core/task-output.js';
import type { Logger } from '../logger.js';
import type { BotMessage } from './messages.js';
import { COLOR, truncate } from './format.js';

/** Lines, and characters, an update shows at most (an embed description holds 4096). */
const LAST_LINES = 15;
const LAST_CHARS = 1800;

export type OutputUpdatesDeps = {
  subscribe(listener: (chunk: OutputChunk) => void): () => void;
  /** Posts in the task's thread; resolves false when the task has no thread (nothing is posted then). */
  post(taskId: number, message: BotMessage): Promise<boolean>;
  everyMs: number;
  log: Logger;
  now?: () => number;
};

/** The last lines of `text`, safe inside a code block. */
export function lastLines(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n').slice(-LAST_LINES);
  let shown = lines.join('\n');
  if (shown.length > LAST_CHARS) shown = `…${shown.slice(shown.length - LAST_CHARS + 1)}`;
  // A ``` in the output would end the code block early.
  return shown.replace(/```/g, '`\u200b`\u200b`');
}

export function outputUpdateMessage(taskId: number, run: number, text: string): BotMessage {
  return {
    embeds: [{ title: truncate(`📜 Output of task #${taskId} (attempt ${run}): last lines`, 256), description: `\`\`\`\n${lastLines(text) || ' '}\n\`\`\``, color: COLOR.progress }],
    components: [],
  };
}

type Pending = { run: number; tail: string; timer: NodeJS.Timeout | null; lastPostAt: number };

/**
 * Per process: this replica runs the bot, and its output feed has every replica's output (the output relay).
 * Updates are a convenience: one that fails is logged and not retried (the next one follows).
 */
export function startOutputUpdates(deps: OutputUpdatesDeps, signal: AbortSignal): void {
  const now = deps.now ?? Date.now;
  const tasks = new Map<number, Pending>();

  const schedule = (taskId: number, entry: Pending) => {
    const wait = Math.max(0, entry.lastPostAt + deps.everyMs - now());
    entry.timer = setTimeout(() => void flush(taskId, entry), wait);
    entry.timer.unref();
  };

  async function flush(taskId: number, entry: Pending): Promise<void> {
    entry.timer = null;
    if (signal.aborted) return;
    if (!entry.tail) {
      tasks.delete(taskId); // nothing new for a whole period: forget the task until it writes again
      return;
    }
    const message = outputUpdateMessage(taskId, entry.run, entry.tail);
    entry.tail = '';
    entry.lastPostAt = now();
    schedule(taskId, entry);
    try {
      await deps.post(taskId, message);
    } catch (err) {
      deps.log.warn({ err, taskId }, 'could not post the last lines of the output');
    }
  }

  const unsubscribe = deps.subscribe((chunk) => {
    let entry = tasks.get(chunk.taskId);
    if (!entry) {
      // The first update of a stretch waits one period too, so a burst of output makes one message.
      entry = { run: chunk.run, tail: '', timer: null, lastPostAt: now() };
      tasks.set(chunk.taskId, entry);
    }
    if (chunk.run !== entry.run) {
      entry.run = chunk.run;
      entry.tail = '';
    }
    entry.tail = (entry.tail + chunk.text).slice(-8 * LAST_CHARS);
    if (!entry.timer) schedule(chunk.taskId, entry);
  });

  signal.addEventListener(
    'abort',
    () => {
      unsubscribe();
      for (const entry of tasks.values()) if (entry.timer) clearTimeout(entry.timer);
      tasks.clear();
    },
    { once: true },
  );
}
