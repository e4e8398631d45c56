import { describe, expect, it } from 'vitest';
import { shortTime } from '../../src/cli/format.js';

describe('shortTime', () => {
  const at = (y: number, mo: number, d: number, h: number, mi: number, s = 0) => new Date(y, mo - 1, d, h, mi, s);

  it('prints a time of the same day with seconds', () => {
    const now = at(2026, 12, 1, 23, 40).getTime();
    expect(shortTime(at(2026, 12, 1, 23, 59, 7).toISOString(), now)).toBe('23:59:07');
  });

  it('prints the date when the time falls on another day, so a lease crossing midnight is not misread', () => {
    const now = at(2026, 12, 1, 23, 55).getTime();
    expect(shortTime(at(2026, 12, 2, 0, 14, 30).toISOString(), now)).toBe('2026-12-02 00:14');
  });

  it('prints a dash for no time', () => {
    expect(shortTime(null)).toBe('-');
  });
});
