// Retry delay: base * 2^(attempt-1), jittered to 50–150 % so failed tasks do not retry in lockstep.

const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

export function retryDelayMs(attempt: number, baseMs: number, random: () => number): number {
  const exponential = baseMs * 2 ** Math.max(0, attempt - 1);
  return Math.min(MAX_DELAY_MS, Math.round(exponential * (0.5 + random())));
}
