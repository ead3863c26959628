import { bool, int, oneOf, text, withDefault } from './parsers.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The HTTP server and the process. */
export const SERVER_ENV = {
  PORT: withDefault(int(1, 65535), '3000', 'Port to listen on.'),
  HOST: withDefault(text(/^[^\s/]+$/, 'must be a host name or address'), '0.0.0.0', 'Address to bind (all interfaces by default).'),
  LOG_LEVEL: withDefault(oneOf(LOG_LEVELS), 'log', 'Most verbose level logged.'),
  LOG_FORMAT: withDefault(oneOf(LOG_FORMATS), 'json', 'json (one object per line) or text.'),
  SHUTDOWN_DRAIN_MS: withDefault(int(0, 600_000), '15000', 'On SIGTERM, how long in-flight requests may finish before exit.'),
  TRUST_PROXY: withDefault(bool(), 'false', 'Trust X-Forwarded-* (only behind a reverse proxy you control).'),
};
