// One self-updating status line at the bottom of a terminal, with log lines and command output above it.

export type StatusLine = {
  /** Replaces the status text (drawn only on a terminal). */
  set(text: string): void;
  /** A log line on stdout, above the status. */
  log(line: string): void;
  /** Command output on stderr, above the status. */
  passthrough(chunk: Buffer | string): void;
  /** Removes the status line. */
  clear(): void;
};

type Stream = { write(s: string | Buffer): unknown; isTTY?: boolean; columns?: number };

export function createStatusLine(stdout: Stream, stderr: Stream, enabled: boolean): StatusLine {
  let text = '';
  let shown = false;
  // Output that did not end with a newline must not be overwritten by a redraw.
  let atLineStart = true;

  const erase = () => {
    if (shown) stderr.write('\r\x1b[K');
    shown = false;
  };
  const draw = () => {
    if (!enabled || !atLineStart || !text) return;
    const width = Math.max(20, (stderr.columns ?? 80) - 1);
    stderr.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    shown = true;
  };

  return {
    set(next) {
      text = next;
      erase();
      draw();
    },
    log(line) {
      erase();
      if (!atLineStart) stdout.write('\n');
      stdout.write(`${line}\n`);
      atLineStart = true;
      draw();
    },
    passthrough(chunk) {
      erase();
      stderr.write(chunk);
      const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (s.length > 0) atLineStart = s.endsWith('\n');
      draw();
    },
    clear() {
      erase();
      text = '';
    },
  };
}
