// The last lines of a running task's output in its Discord thread: coalesced, at most one update per period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLines } from '../../src/bot/output-updates.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { OUTPUT_DISCORD_SECONDS: '1' } });
  await h.ready();
});
afterAll(async () => h?.close());

describe('output in the task thread', () => {
  it('posts the last lines at most once per period, coalescing what came in between', async () => {
    const id = (await h.api('POST', '/api/tasks', { description: 'Run the long test suite' })).json.task_id as number;
    const thread = await eventually(() => h.fake.threads().find((t) => t.name.startsWith(`#${id} · `)), 15_000, 'the task thread');
    const claimed = (await h.api('POST', `/api/tasks/${id}/claim`, { instance_id: 'agent-1' })).json;
    let offset = 0;
    const append = async (text: string) => {
      expect((await h.api('POST', `/api/tasks/${id}/output`, { lease_token: claimed.lease_token, offset, text })).status).toBe(200);
      offset += Buffer.byteLength(text);
    };
    const started = Date.now();
    for (let i = 1; i <= 30; i++) await append(`test ${i} ok\n`);
    const updates = () => h.fake.channelMessages(thread.id).filter((m) => m.embeds[0]?.title?.startsWith(`📜 Output of task #${id}`));
    const descriptions = () => updates().map((m) => m.embeds[0].description as string);
    const first = await eventually(() => updates()[0], 15_000, 'the first update');
    // Nothing before one period has passed; the lines come in order, at most 15 per update.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(first.embeds[0].description).toMatch(/^```\ntest \d+ ok\n/);
    await eventually(() => descriptions().some((d) => d.endsWith('test 30 ok\n```')), 15_000, 'the update with the last line');
    // One update per period at most: 30 appends never make 30 messages.
    expect(updates().length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 1000) + 1);
    for (const d of descriptions()) expect(d.split('\n').length - 2).toBeLessThanOrEqual(15);
    const count = updates().length;

    await append('```\nall green\n');
    const next = await eventually(() => updates()[count], 15_000, 'the next update');
    expect(next.embeds[0].description).toContain('all green');
    expect(next.embeds[0].description).not.toContain('test 30 ok');
    expect(next.embeds[0].description).not.toContain('```\nall');
  });

  it('keeps the last lines short and the code block closed', () => {
    const text = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n```\n';
    const shown = lastLines(text);
    expect(shown.split('\n')).toHaveLength(15);
    expect(shown).not.toContain('```');
  });
});
