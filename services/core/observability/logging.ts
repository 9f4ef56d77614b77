import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/config.ts';

export type { Logger };

/**
 * Field names that could carry a clear card number if a caller logs a raw request or record.
 * They are censored at the logger, the last line of defence: the first is never to put them there.
 */
const panPaths = ['pan', '*.pan', '*.*.pan', 'cardNumber', '*.cardNumber', '*.*.cardNumber', 'req.headers.authorization', 'req.headers["x-api-key"]'];

export function createLogger(options: { level: LogLevel; name?: string }): Logger {
  return pino({
    level: options.level,
    base: options.name === undefined ? {} : { service: options.name },
    redact: { paths: panPaths, censor: '[redacted]' },
  });
}
