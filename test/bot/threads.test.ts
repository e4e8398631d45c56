// The thread directory forgets the oldest remembered threads past its bound, so it does not grow forever.
import type { AnyThreadChannel, Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { KNOWN_THREADS_MAX, createThreadDirectory } from '../../src/bot/threads.js';

describe('thread directory', () => {
  it(`remembers at most ${KNOWN_THREADS_MAX} threads, forgetting the oldest`, () => {
    const threads = new Map<string, AnyThreadChannel>();
    const client = { channels: { cache: threads }, user: { id: 'bot' } } as unknown as Client;
    const directory = createThreadDirectory(client, new Set(['guild']));
    for (let taskId = 1; taskId <= KNOWN_THREADS_MAX + 50; taskId++) {
      const thread = { id: `t${taskId}`, isThread: () => true, guildId: 'guild' } as unknown as AnyThreadChannel;
      threads.set(thread.id, thread);
      directory.remember(taskId, thread);
    }
    expect(directory.size()).toBe(KNOWN_THREADS_MAX);
    expect(directory.find(KNOWN_THREADS_MAX + 50)?.id).toBe(`t${KNOWN_THREADS_MAX + 50}`);
  });
});
