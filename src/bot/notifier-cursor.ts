// The Discord notifier's position in the task log, by name: the server reads it for the outbox backlog
// without loading the bot (and discord.js) when no bot runs.
export const NOTIFIER_CURSOR = 'discord-notifier';
