-- Statistics from a rollup instead of the whole log, and indexes that match each listing filter.
--
-- `audit_stats_daily` and `audit_stats_hourly` hold, per UTC day and per UTC hour, per caller key,
-- caller name, app and currency, what `/audit/stats` sums over sealed `call.finished` events.
-- The sequencer adds each sealed batch to them in the statement that inserts the batch (so a
-- crash can neither double count nor miss), retention subtracts what it deletes in the statement
-- that deletes it. A query reads whole days from the day rows, whole hours at the edges of its
-- window from the hour rows, and only the partial hours at the very edges from `audit_events`.
-- Two tables, not one with a grain column: day queries read a small, dense table.
-- `dims` is the group's identity as a JSON array (null and "" stay distinct, on any PostgreSQL).

-- CreateTable
CREATE TABLE "audit_stats_daily" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "dims" TEXT NOT NULL,
    "caller_key_id" UUID,
    "caller_name" TEXT,
    "app_alias" TEXT,
    "currency" TEXT,
    "calls" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "tokens" BIGINT NOT NULL,
    "priced" BIGINT NOT NULL,
    "cost" DECIMAL,

    CONSTRAINT "audit_stats_daily_pkey" PRIMARY KEY ("bucket", "dims")
);

-- CreateTable
CREATE TABLE "audit_stats_hourly" (
    "bucket" TIMESTAMPTZ(3) NOT NULL,
    "dims" TEXT NOT NULL,
    "caller_key_id" UUID,
    "caller_name" TEXT,
    "app_alias" TEXT,
    "currency" TEXT,
    "calls" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "tokens" BIGINT NOT NULL,
    "priced" BIGINT NOT NULL,
    "cost" DECIMAL,

    CONSTRAINT "audit_stats_hourly_pkey" PRIMARY KEY ("bucket", "dims")
);

-- Backfill from the events already sealed (the same grouping as the sequencer's).
INSERT INTO "audit_stats_daily" (bucket, dims, caller_key_id, caller_name, app_alias, currency, calls, errors, tokens, priced, cost)
SELECT date_trunc('day', recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', json_build_array(caller_key_id, caller_name, app_alias, currency)::text,
       caller_key_id, caller_name, app_alias, currency, count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'),
       coalesce(sum(total_tokens), 0), count(total_price), sum(total_price::numeric)
  FROM "audit_events" WHERE type = 'call.finished'
 GROUP BY 1, caller_key_id, caller_name, app_alias, currency;
INSERT INTO "audit_stats_hourly" (bucket, dims, caller_key_id, caller_name, app_alias, currency, calls, errors, tokens, priced, cost)
SELECT date_trunc('hour', recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', json_build_array(caller_key_id, caller_name, app_alias, currency)::text,
       caller_key_id, caller_name, app_alias, currency, count(*), count(*) FILTER (WHERE outcome IS DISTINCT FROM 'success'),
       coalesce(sum(total_tokens), 0), count(total_price), sum(total_price::numeric)
  FROM "audit_events" WHERE type = 'call.finished'
 GROUP BY 1, caller_key_id, caller_name, app_alias, currency;
ANALYZE "audit_stats_daily";
ANALYZE "audit_stats_hourly";

-- Lookups by an id that may have no events: ordered by seq inside the id, so the planner never
-- walks the whole seq index looking for the newest match.
DROP INDEX "audit_events_conversation_id_idx";
CREATE INDEX "audit_events_conversation_id_seq_idx" ON "audit_events"("conversation_id", "seq");
DROP INDEX "audit_events_request_id_idx";
CREATE INDEX "audit_events_request_id_seq_idx" ON "audit_events"("request_id", "seq");
DROP INDEX "audit_events_message_id_idx";
CREATE INDEX "audit_events_message_id_seq_idx" ON "audit_events"("message_id", "seq");

-- App + outcome in seq order; outcome alone uses its prefix (rare outcomes) or walks seq (common ones).
DROP INDEX "audit_events_outcome_seq_idx";
CREATE INDEX "audit_events_outcome_app_alias_seq_idx" ON "audit_events"("outcome", "app_alias", "seq");

-- Status and route filters, so that a value with few or no events is not a walk of the whole
-- log. Status is null on every call.started event: those rows are left out of its index.
CREATE INDEX "audit_events_status_seq_idx" ON "audit_events"("status", "seq") WHERE "status" IS NOT NULL;
CREATE INDEX "audit_events_route_seq_idx" ON "audit_events"("route", "seq");
