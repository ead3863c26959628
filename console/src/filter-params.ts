/**
 * The filters of `GET /audit/events` and `/audit/export` (src/audit/read/dto/audit-events-query.dto.ts)
 * and the values of the two enumerated ones. Plain data, no DOM: test/e2e/console-page.e2e-spec.ts
 * checks it against the API's own lists, so a filter added there cannot be missing here.
 */
export const FILTER_PARAMS = [
  'from',
  'to',
  'caller',
  'app',
  'route',
  'outcome',
  'status',
  'type',
  'user',
  'request_id',
  'conversation_id',
  'message_id',
  'call_id',
] as const;

export type Filter = Partial<Record<(typeof FILTER_PARAMS)[number], string>>;

export const OUTCOMES = ['success', 'client_error', 'rejected', 'upstream_error', 'timeout', 'cancelled', 'stream_error', 'unknown'];

export const EVENT_TYPES = [
  'call.started',
  'call.finished',
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'config.reloaded',
  'admin.action',
  'access.refused',
  'auth.refused',
  'audit.query',
  'audit.export.started',
  'audit.export.finished',
  'audit.purged',
  'alert.raised',
  'gateway.started',
  'gateway.stopped',
  'gateway.recovered',
];
