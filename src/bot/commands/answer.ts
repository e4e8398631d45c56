// /answer task_id text: answer the question of a task waiting for input; it goes back to its agent.
import { COLOR, truncate } from '../format.js';
import { actor, command, taskIdOption, type SlashCommand } from './command.js';

export const answerCommand: SlashCommand = {
  usage: '`/answer task_id text` — answer a task that needs input',
  // The answer goes to an agent that runs commands: as over REST, only admins may give it.
  requires: 'admin',
  taskIdStatuses: ['needs_input'],
  data: command('answer', 'Answer a task that is waiting for input')
    .addIntegerOption((o) => taskIdOption(o, 'Task waiting for input'))
    .addStringOption((o) => o.setName('text').setDescription('Your answer').setRequired(true).setMaxLength(4000))
    .toJSON(),
  async execute(ctx, interaction) {
    const id = interaction.options.getInteger('task_id', true);
    const text = interaction.options.getString('text', true);
    const task = await ctx.queue.answer(id, { answer: text, by: actor(interaction) });
    return {
      embeds: [
        {
          title: `💬 Answered task #${task.id}`,
          color: COLOR.needsInput,
          fields: [
            ...(task.question ? [{ name: 'Question', value: truncate(task.question, 1024) }] : []),
            { name: 'Answer', value: truncate(text, 1024) },
          ],
          footer: { text: `${task.instanceName ?? task.instanceId ?? 'The agent'} continues with it` },
        },
      ],
      components: [],
    };
  },
};
