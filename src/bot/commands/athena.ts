// /athena: help listing every command and what the buttons do.
import { COLOR } from '../format.js';
import { command, type SlashCommand } from './command.js';

export function helpCommand(all: () => SlashCommand[]): SlashCommand {
  return {
    usage: '`/athena` — this help',
    ephemeral: true,
    data: command('athena', 'What Athena can do and how to use it').toJSON(),
    async execute(ctx) {
      const admin = ctx.config.DISCORD_ADMIN_ROLE;
      return {
        ephemeral: true,
        embeds: [
          {
            title: '🦉 Athena — a task queue for AI coding agents',
            color: COLOR.info,
            description: all().map((c) => c.usage).join('\n'),
            fields: [
              { name: 'Buttons', value: 'Task messages carry **Cancel** and **Raise priority**; failed tasks carry **Retry**.' },
              ...(admin ? [{ name: 'Permissions', value: `Cancel, priority and retry need the **${admin.replace(/^@/, '')}** role, or being the task's submitter.` }] : []),
            ],
          },
        ],
        components: [],
      };
    },
  };
}
