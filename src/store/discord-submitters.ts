// The Discord user behind each task queued with /task, over the shared SQL (both backends).
import type { DiscordSubmitters } from '../core/ports.js';
import type { Db } from './db.js';

export class SqlDiscordSubmitters implements DiscordSubmitters {
  constructor(private readonly db: Db) {}

  async record(taskId: number, userId: string, now: number): Promise<void> {
    await this.db.run('INSERT INTO discord_submitters (task_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (task_id) DO NOTHING', [taskId, userId, now]);
  }

  async userOf(taskId: number): Promise<string | null> {
    const row = await this.db.get<{ user_id: string }>('SELECT user_id FROM discord_submitters WHERE task_id = ?', [taskId]);
    return row ? String(row.user_id) : null;
  }
}
