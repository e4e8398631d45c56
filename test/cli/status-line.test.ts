// The worker's status line: drawn and redrawn only on a terminal, never over unfinished command output.
import { describe, expect, it } from 'vitest';
import { createStatusLine } from '../../src/cli/status-line.js';

function fakeStream(isTTY: boolean, columns = 40) {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (s: string | Buffer) => writes.push(String(s)), text: () => writes.join('') };
}

describe('status line', () => {
  it('on a terminal: draws, replaces, and keeps log lines above it', () => {
    const out = fakeStream(true);
    const err = fakeStream(true);
    const line = createStatusLine(out, err, true);
    line.set('⏳ waiting');
    expect(err.text()).toBe('\r\x1b[K⏳ waiting');
    line.set('▶️  running #1');
    expect(err.writes.slice(-2)).toEqual(['\r\x1b[K', '\r\x1b[K▶️  running #1']);
    line.log('claimed #1');
    expect(out.text()).toBe('claimed #1\n');
    // Erased before the log line, drawn again after it.
    expect(err.writes.slice(-2)).toEqual(['\r\x1b[K', '\r\x1b[K▶️  running #1']);
    line.clear();
    expect(err.writes.at(-1)).toBe('\r\x1b[K');
  });

  it('cuts the status to the terminal width', () => {
    const err = fakeStream(true, 21);
    createStatusLine(fakeStream(true), err, true).set('x'.repeat(50));
    expect(err.text()).toBe(`\r\x1b[K${'x'.repeat(19)}…`);
  });

  it('does not draw over command output that has no newline yet', () => {
    const err = fakeStream(true);
    const line = createStatusLine(fakeStream(true), err, true);
    line.set('status');
    line.passthrough('progress 10%');
    const after = err.writes.length;
    line.set('status, later');
    expect(err.writes.slice(after)).toEqual([]);
    line.passthrough(' … 100%\n');
    expect(err.text().endsWith('progress 10% … 100%\n\r\x1b[Kstatus, later')).toBe(true);
  });

  it('off a terminal: only log lines and command output, no control characters', () => {
    const out = fakeStream(false);
    const err = fakeStream(false);
    const line = createStatusLine(out, err, false);
    line.set('⏳ waiting');
    line.log('claimed #1');
    line.passthrough('hello\n');
    line.clear();
    expect(out.text()).toBe('claimed #1\n');
    expect(err.text()).toBe('hello\n');
  });
});
