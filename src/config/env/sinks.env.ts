/**
 * The audit sinks' and alerts' variables. They are not table rows: `AUDIT_SINKS` is a JSON list
 * whose entries name further variables (`AUDIT_SINK_<NAME>_HMAC_KEY`, `_TOKEN`, each also as
 * `_FILE`), so src/config/audit-sinks.ts parses them all together, like the Dify apps file.
 * Listed here so that `.env.example` and the README document them in this place.
 */
export const SINK_VARIABLES = [
  'AUDIT_SINKS',
  'ALERT_WEBHOOK_URL',
  'ALERT_HMAC_KEY',
  'ALERT_HMAC_KEY_FILE',
  'ALERT_SINK_LAG_EVENTS',
  'ALERT_KEY_EXPIRY_DAYS',
  'ALERT_CHECK_INTERVAL_MS',
] as const;
