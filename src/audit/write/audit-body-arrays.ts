import { Prisma } from '../../generated/prisma/client.js';
import { FIELD_NAMES, type EventBody } from '../audit-event.js';
import { columnOf } from './audit-sql.js';

/** The body columns as Prisma SQL, and as arrays for one `unnest` insert (the repository's Prisma statements). */

type FieldName = (typeof FIELD_NAMES)[number];

const SQL_TYPES: Record<FieldName, string> = {
  instanceId: 'uuid',
  callId: 'uuid',
  requestId: 'text',
  callerKeyId: 'uuid',
  callerName: 'text',
  appAlias: 'text',
  method: 'text',
  route: 'text',
  endUser: 'text',
  status: 'int',
  upstreamStatus: 'int',
  outcome: 'text',
  errorCode: 'text',
  latencyMs: 'int',
  attempts: 'int',
  conversationId: 'text',
  messageId: 'text',
  taskId: 'text',
  workflowRunId: 'text',
  totalTokens: 'int',
  totalPrice: 'text',
  currency: 'text',
  promptText: 'text',
  answerText: 'text',
  details: 'jsonb',
};

/** `id, type, instance_id, ... details`: the body columns, in `FIELD_NAMES` order. */
export const BODY_COLUMNS = Prisma.raw(['id', 'type', ...FIELD_NAMES.map(columnOf)].join(', '));

/** One array parameter per body column, cast for `unnest` (the same order as `BODY_COLUMNS`). */
export function bodyArrays(events: readonly EventBody[]): Prisma.Sql[] {
  const arrays = [Prisma.sql`${events.map((e) => e.id)}::uuid[]`, Prisma.sql`${events.map((e) => e.type)}::text[]`];
  for (const name of FIELD_NAMES) {
    const values = events.map((e) => (name === 'details' ? (e.details === null ? null : JSON.stringify(e.details)) : e[name]));
    arrays.push(Prisma.sql`${values}::${Prisma.raw(SQL_TYPES[name])}[]`);
  }
  return arrays;
}
