// The bot's own connection lifecycle against the fake Discord: a lost session whose old client fails to close
// still reconnects (and says so in the log), and stopping leaves no timer behind.
import { Client } from 'discord.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger } from '../helpers/log.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

describe('bot lifecycle', () => {
  it('a closed session whose client fails to close is logged, and the bot logs in again', async () => {
    const { log, lines } = recordingLogger();
    h = await startHarness({ log });
    await h.ready();
    const realDestroy = Client.prototype.destroy;
    vi.spyOn(Client.prototype, 'destroy').mockImplementationOnce(async function (this: Client) {
      await realDestroy.call(this);
      throw new Error('destroy failed');
    });

    // 4004 is a close discord.js does not recover from: the bot drops the client and logs in from scratch.
    await h.fake.disconnectGateway(4004, 'Authentication failed.');

    await h.fake.waitForIdentify(1, 10_000);
    await eventually(async () => (await h!.api('GET', '/api/health')).json.checks.discord.ok === true, 10_000, 'the bot to be connected again');
    const warning = lines.find((l) => l.msg === 'could not close the disconnected Discord client');
    expect(warning).toMatchObject({ level: 40, err: { message: 'destroy failed' } });
  });

  it('stopping clears the wait for the notifier instead of leaving its timer running', async () => {
    h = await startHarness();
    await h.ready();
    const waits: unknown[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number, ...args: unknown[]) => {
      const timer = realSetTimeout(fn, ms, ...args);
      if (ms === 3_000) waits.push(timer);
      return timer;
    }) as typeof setTimeout);
    const cleared = vi.spyOn(globalThis, 'clearTimeout');

    await h.close();
    h = undefined;

    // Stopping took well under 3 s, so a wait cleared now was cleared because the notifier was done.
    expect(waits.length).toBeGreaterThan(0);
    for (const timer of waits) expect(cleared).toHaveBeenCalledWith(timer);
  });
});
