// /athena: help listing every command and what the buttons do.
import { COLOR } from '../format.js';
import { command, type SlashCommand } from './command.js';

export function helpCommand(all: () => SlashCommand[]): SlashCommand {
  return {
    usage: '`/athena` — this help',
    ephemeral: true,
    data: command('athena', 'What Athena can do and how to use it').toJSON(),
    async execute(ctx) {
      const role = (ref: string | undefined) => ref?.trim().replace(/^@/, '');
      const admin = role(ctx.config.DISCORD_ADMIN_ROLE);
      const submit = role(ctx.config.DISCORD_SUBMIT_ROLE);
      const permissions = [
        ...(admin ? [`\`/answer\` needs the **${admin}** role; cancel, priority and retry need it too, or having queued the task.`] : []),
        ...(submit ? [`\`/task\` needs the **${submit}** role${admin ? ` (or **${admin}**)` : ''}.`] : []),
      ];
      return {
        ephemeral: true,
        embeds: [
          {
            title: '🦉 Athena — a task queue for AI coding agents',
            color: COLOR.info,
            description: all().map((c) => c.usage).join('\n'),
            fields: [
              { name: 'Buttons', value: 'Task messages carry **Cancel** and **Raise priority**; failed tasks carry **Retry**.' },
              ...(permissions.length > 0 ? [{ name: 'Permissions', value: permissions.join('\n') }] : []),
            ],
          },
        ],
        components: [],
      };
    },
  };
}
