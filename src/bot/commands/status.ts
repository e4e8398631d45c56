// /status: how many tasks are in each state, and which agents are working on what.
import type { Instance } from '../../core/types.js';
import { COLOR, STATUS_LABEL, relativeTime, truncate } from '../format.js';
import { command, type SlashCommand } from './command.js';

const INSTANCES_SHOWN = 15;
const INSTANCE_DOT: Record<Instance['status'], string> = { working: '🟢', idle: '🟡', offline: '⚫' };

function instanceLine(instance: Instance): string {
  const name = truncate(instance.name ?? instance.id, 60);
  const doing = instance.currentTaskId !== null ? `working on #${instance.currentTaskId}` : instance.status;
  return `${INSTANCE_DOT[instance.status]} **${name}** — ${doing} · seen ${relativeTime(instance.lastSeen)}`;
}

export const statusCommand: SlashCommand = {
  usage: '`/status` — tasks per state and what each agent is doing',
  data: command('status', 'Tasks per state and what each agent is doing').toJSON(),
  async execute(ctx) {
    const stats = await ctx.queue.stats();
    const counts = (['pending', 'in_progress', 'needs_input', 'in_review', 'blocked', 'completed', 'failed', 'cancelled'] as const).map((status) => ({
      name: STATUS_LABEL[status],
      value: String(stats.byStatus[status]),
      inline: true,
    }));
    const instances = stats.instances.slice(0, INSTANCES_SHOWN).map(instanceLine);
    const hidden = stats.instances.length - instances.length;
    return {
      embeds: [
        {
          title: `📊 Athena status — ${stats.total} tasks`,
          color: COLOR.info,
          fields: [
            ...counts,
            {
              name: `Agents (${stats.instances.filter((i) => i.status !== 'offline').length} active)`,
              value: instances.length > 0 ? truncate([...instances, ...(hidden > 0 ? [`…and ${hidden} more`] : [])].join('\n'), 1024) : 'No agent has checked in yet.',
            },
          ],
          ...(stats.oldestPendingAt !== null ? { footer: { text: 'Oldest pending task queued' }, timestamp: new Date(stats.oldestPendingAt).toISOString() } : {}),
        },
      ],
      components: [],
    };
  },
};
