// A logger that keeps what it logs, for tests that check a failure was logged rather than thrown.
import pino from 'pino';
import type { Logger } from '../../src/logger.js';

export type LogLine = { level: number; msg: string; [key: string]: unknown };

/** Keeps each line logged at `level` or above (warn by default), parsed. */
export function recordingLogger(level = 'warn'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}
