/**
 * Structured JSON-lines logger. One line per event on stderr (stdout stays free for the start-up
 * banner), with the service name, level and any fields. Deliberately tiny: no transports, no buffers.
 */
import type { LogLevelName } from './config.ts';

const levelRank: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function serializeError(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return value;
}

export function createLogger(
  service: string,
  level: LogLevelName = 'info',
  bound: LogFields = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const threshold = levelRank[level];
  const emit = (lvl: Exclude<LogLevelName, 'silent'>, message: string, fields?: LogFields): void => {
    if (levelRank[lvl] < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level: lvl, service, message, ...bound };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) record[key] = serializeError(value);
    }
    write(
      JSON.stringify(record, (_key, value: unknown) =>
        typeof value === 'bigint' ? value.toString() : value,
      ),
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(service, level, { ...bound, ...fields }, write),
  };
}
