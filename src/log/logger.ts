import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Belt and braces: the code never passes
 * secrets to the logger, and this list catches the mistake if it ever does.
 */
export const REDACTED_PATHS = [
  'password',
  'hash',
  'secret',
  'cookie',
  'sessionId',
  'token',
  'id_token',
  '*.password',
  '*.hash',
  '*.secret',
  '*.cookie',
  '*.sessionId',
  '*.token',
  '*.id_token',
  'req.headers.cookie',
  'req.headers.authorization',
];

/** The destination is injected so tests can read the very lines they assert on. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'postern' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
