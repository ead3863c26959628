import type { CallAuditEntry } from '../audit/audit.service.js';
import type { CallSummary } from '../tracing/call-tracer.js';
import type { CallEnd, CallFacts } from './call-record.js';

/**
 * What the call's span is told of it: only metadata (route row, app, key id, status, outcome,
 * attempts, usage). The prompt, the answer, the end user and the conversation stay in the audit
 * entry; this is the one place that picks what goes on a span.
 */
export function traceSummary(facts: CallFacts, entry: CallAuditEntry, end: CallEnd): CallSummary {
  const seen = end.observation;
  const usage = seen && {
    inputTokens: seen.promptTokens,
    outputTokens: seen.completionTokens,
    totalTokens: seen.totalTokens,
    totalPrice: seen.totalPrice,
    currency: seen.currency,
  };
  return {
    ...(facts.route ? { route: { name: facts.route.name, method: facts.method, path: facts.route.path } } : {}),
    app: entry.appAlias,
    keyId: entry.callerKeyId,
    requestId: entry.requestId,
    status: entry.status,
    outcome: entry.outcome,
    errorCode: entry.errorCode,
    upstreamStatus: entry.upstreamStatus,
    attempts: entry.attempts,
    ...(usage ? { usage } : {}),
  };
}
