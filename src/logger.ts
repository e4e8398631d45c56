// pino logger: JSON lines in production, pretty on a TTY.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, options: { pretty?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true);
  if (options.destination) return pino({ level }, options.destination);
  if (pretty) {
    return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  return pino({ level });
}

export const silentLogger: Logger = pino({ level: 'silent' });
