// Every slash command the bot registers, by name.
import { answerCommand } from './answer.js';
import { helpCommand } from './athena.js';
import { cancelCommand } from './cancel.js';
import type { SlashCommand } from './command.js';
import { doneCommand } from './done.js';
import { pauseCommand, resumeCommand } from './pause.js';
import { priorityCommand } from './priority.js';
import { queueCommand } from './queue.js';
import { retryCommand } from './retry.js';
import { statusCommand } from './status.js';
import { taskCommand } from './task.js';
import { editCommand } from './edit.js';
import { commentCommand } from './comment.js';
import { reopenCommand } from './reopen.js';
import { scheduleCommand } from './schedule.js';

const list: SlashCommand[] = [
  taskCommand, queueCommand, statusCommand, doneCommand, priorityCommand, cancelCommand, retryCommand, answerCommand,
  editCommand, commentCommand, reopenCommand, pauseCommand, resumeCommand, scheduleCommand,
];
list.push(helpCommand(() => list));

export const COMMANDS: ReadonlyMap<string, SlashCommand> = new Map(list.map((c) => [c.data.name, c]));

/** The JSON of every command, as PUT to Discord's bulk-overwrite endpoint. */
export function commandDefinitions() {
  return list.map((c) => c.data);
}
