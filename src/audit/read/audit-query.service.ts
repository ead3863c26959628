import { Injectable, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Checkpoint, Details } from '../audit-event.js';
import { csvHeader, csvLine, EXPORT_CONTENT_TYPES, ndjsonLine, writeChunk } from './audit-export.js';
import { exportRows, listPage, type ListingFilter } from './audit-listing.js';
import { presentEvent, summarizeCall, type CallSummary, type PresentedEvent } from './audit-presenter.js';
import { AuditReadRepository, type EventFilter, type StatsDimension } from './audit-read.repository.js';
import { AuditVerifyService, type VerifyReport } from './audit-verify.service.js';
import { AuditService, type AuditActor } from '../audit.service.js';
import type { AuditEventsQueryDto, AuditExportQueryDto, AuditFilterDto } from './dto/audit-events-query.dto.js';
import { DEFAULT_STATS_PAGE_SIZE, STATS_DIMENSIONS, type AuditStatsQueryDto, type AuditVerifyQueryDto } from './dto/audit-report-query.dto.js';
import { decodeStatsCursor, encodeStatsCursor } from './stats-cursor.js';
import { GatewayErrors } from '../../common/errors/gateway-errors.js';

export interface AuditPage {
  data: PresentedEvent[];
  limit: number;
  has_more: boolean;
  next_cursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const EXPORT_BATCH = 1_000;

/**
 * What compliance staff can read, each read itself recorded in the log (who, what filters, how
 * many rows) before anything is disclosed: `audit.query` for lists, calls, statistics and
 * verification, `audit.export.started`/`.finished` around an export.
 */
@Injectable()
export class AuditQueryService {
  private readonly logger = new Logger(AuditQueryService.name);

  constructor(
    private readonly read: AuditReadRepository,
    private readonly audit: AuditService,
    private readonly verifier: AuditVerifyService,
  ) {}

  /** Newest first: unsealed events first, then the chain by seq; keyset-paged, stable while new events are written (see `listPage`). */
  async list(query: AuditEventsQueryDto, actor: AuditActor): Promise<AuditPage> {
    const limit = Math.min(query.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    await this.audit.writeQueued();
    const page = await listPage(this.read, await this.filterOf(query), limit, query.cursor);
    await this.audit.recordAccess('audit.query', actor, { endpoint: 'events', filters: filtersOf(query), rows: page.rows.length, has_more: page.hasMore });
    return { data: page.rows.map(presentEvent), limit, has_more: page.hasMore, next_cursor: page.nextCursor };
  }

  /** An event by its id, or a call by its call id: the call's summary and all its events. */
  async get(id: string, actor: AuditActor): Promise<{ call: CallSummary | null; events: PresentedEvent[] }> {
    await this.audit.writeQueued();
    const event = await this.read.findById(id);
    const callId = event ? event.callId : id;
    const events = callId ? await this.read.findByCall(callId) : [];
    const all = events.length > 0 ? events : event ? [event] : [];
    await this.audit.recordAccess('audit.query', actor, { endpoint: 'event', id, rows: all.length });
    if (all.length === 0) throw GatewayErrors.notFound('No audit event or call has this id.');
    return { call: summarizeCall(all), events: all.map(presentEvent) };
  }

  async stats(query: AuditStatsQueryDto, actor: AuditActor) {
    const groupBy = (query.group_by ? [...new Set(query.group_by.split(','))] : [...STATS_DIMENSIONS]) as StatsDimension[];
    const limit = query.limit ?? DEFAULT_STATS_PAGE_SIZE;
    const after = query.cursor === undefined ? undefined : decodeStatsCursor(query.cursor, groupBy);
    const filter = { from: dateOf(query.from), to: dateOf(query.to), callerKeyId: query.caller, appAlias: query.app };
    await this.audit.writeQueued();
    const read = await this.read.stats(filter, groupBy, { limit: limit + 1, after });
    const rows = read.slice(0, limit);
    const hasMore = read.length > limit;
    await this.audit.recordAccess('audit.query', actor, { endpoint: 'stats', filters: filtersOf(query), rows: rows.length, has_more: hasMore });
    return {
      group_by: groupBy,
      limit,
      has_more: hasMore,
      next_cursor: hasMore ? encodeStatsCursor(groupBy, rows[rows.length - 1]) : null,
      data: rows.map((r) => ({
        day: r.day,
        caller_key_id: r.callerKeyId,
        caller_name: r.callerName,
        app: r.appAlias,
        calls: r.calls,
        errors: r.errors,
        total_tokens: r.totalTokens,
        cost: r.cost,
      })),
    };
  }

  async verify(query: AuditVerifyQueryDto, actor: AuditActor) {
    await this.audit.writeQueued();
    const report = await this.verifier.verify({ fromSeq: query.from_seq, toSeq: query.to_seq, from: dateOf(query.from), to: dateOf(query.to) });
    await this.audit.recordAccess('audit.query', actor, {
      endpoint: 'verify',
      filters: filtersOf(query),
      rows: report.checked,
      ok: report.ok,
      problem: report.problem ? { kind: report.problem.kind, seq: report.problem.seq } : null,
    });
    // The newest checkpoint, whatever the range: which key signs the log now, and up to where.
    return { ...presentReport(report), latest_checkpoint: presentCheckpoint(await this.read.latestCheckpoint()) };
  }

  /**
   * Streams every matching event, oldest first, as CSV or NDJSON: keyset batches of 1000 rows,
   * written with backpressure, so memory stays flat whatever the range. The export is recorded
   * before the first byte (fail closed) and its end (rows, complete or not) after the last.
   */
  async export(query: AuditExportQueryDto, actor: AuditActor, res: ServerResponse): Promise<void> {
    const filter = await this.filterOf(query);
    await this.audit.writeQueued();
    const started = await this.audit.recordAccess('audit.export.started', actor, { format: query.format, filters: filtersOf(query) });
    res.statusCode = 200;
    res.setHeader('content-type', EXPORT_CONTENT_TYPES[query.format]);
    res.setHeader('content-disposition', `attachment; filename="audit-${started.receivedAt.toISOString().replace(/[:.]/g, '-')}.${query.format}"`);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-audit-export-id', started.id);
    let rows = 0;
    let complete = true;
    let error: string | null = null;
    try {
      if (query.format === 'csv' && !(await writeChunk(res, csvHeader()))) complete = false;
      for await (const batch of exportRows(this.read, filter, EXPORT_BATCH)) {
        const text = batch.map(query.format === 'csv' ? csvLine : ndjsonLine).join('');
        if (!(await writeChunk(res, text))) {
          complete = false;
          break;
        }
        rows += batch.length;
      }
    } catch (err) {
      complete = false;
      error = (err as Error).name;
      this.logger.error(`audit export ${started.id} failed after ${rows} rows: ${error}`);
    }
    // A cut export must not look complete: end a healthy one, destroy a broken one.
    if (complete) res.end();
    else res.destroy();
    this.audit.recordAccessLater('audit.export.finished', actor, { export_id: started.id, format: query.format, rows, complete, error });
  }

  /**
   * Filters as repository terms: for sealed events the time window mapped to a `seq` range (null
   * when it holds none), for unsealed ones the same window on the time they were recorded.
   */
  private async filterOf(q: AuditFilterDto): Promise<ListingFilter> {
    const range = q.from || q.to ? await this.read.seqRange(dateOf(q.from), dateOf(q.to)) : {};
    const fields = eventFieldsOf(q);
    return { sealed: range ? { ...range, ...fields } : null, pending: { ...fields, receivedFrom: dateOf(q.from), receivedTo: dateOf(q.to) } };
  }
}

function presentReport(r: VerifyReport) {
  return {
    ok: r.ok,
    summary: r.summary,
    checked: r.checked,
    first_seq: r.firstSeq,
    last_seq: r.lastSeq,
    checkpoints_checked: r.checkpointsChecked,
    signed: r.signed,
    started_from: r.startedFrom,
    range: { from_seq: r.range.fromSeq, to_seq: r.range.toSeq },
    problem: r.problem ? { kind: r.problem.kind, seq: r.problem.seq, event_id: r.problem.eventId, message: r.problem.message } : null,
    unsealed: r.unsealed
      ? {
          count: r.unsealed.count,
          oldest_id: r.unsealed.oldestId,
          oldest_received_at: r.unsealed.oldestReceivedAt?.toISOString() ?? null,
          oldest_age_ms: r.unsealed.oldestAgeMs,
          max_lag_ms: r.unsealed.maxLagMs,
        }
      : null,
    warnings: r.warnings,
    notes: r.notes,
  };
}

function presentCheckpoint(cp: Checkpoint | null) {
  return cp ? { seq: cp.seq, hash: cp.hash, kind: cp.kind, created_at: cp.createdAt.toISOString(), key_id: cp.keyId, signed: cp.signature !== null } : null;
}

function dateOf(iso: string | undefined): Date | undefined {
  return iso ? new Date(iso) : undefined;
}

/** The query as recorded in the auditor's own event: the parameters given, nothing else. */
function filtersOf(query: object): Details {
  const out: Details = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) out[key] = typeof value === 'number' ? value : String(value);
  return out;
}

/** The API's filter fields as the read repository's `EventFilter` (no time range: that is resolved to seqs apart). */
export function eventFieldsOf(q: AuditFilterDto): EventFilter {
  return {
    type: q.type,
    callId: q.call_id,
    callerKeyId: q.caller,
    appAlias: q.app,
    route: q.route,
    outcome: q.outcome,
    status: q.status,
    requestId: q.request_id,
    conversationId: q.conversation_id,
    messageId: q.message_id,
    endUser: q.user,
  };
}
