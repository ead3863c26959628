-- Recording apart from sealing. A call's write-ahead is one autocommitted insert into the inbox
-- `audit_pending` (no lock, no head read); one sequencer at a time moves pending rows into
-- `audit_events` (DELETE ... RETURNING + INSERT in one transaction), assigning seq and hashing and
-- signing them. An event is either pending or sealed, never both; audit_events stays insert-only.

-- CreateTable
CREATE TABLE "audit_pending" (
    "pending_no" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    "instance_id" UUID,
    "call_id" UUID,
    "request_id" TEXT,
    "caller_key_id" UUID,
    "caller_name" TEXT,
    "app_alias" TEXT,
    "method" TEXT,
    "route" TEXT,
    "end_user" TEXT,
    "status" INTEGER,
    "upstream_status" INTEGER,
    "outcome" TEXT,
    "error_code" TEXT,
    "latency_ms" INTEGER,
    "attempts" INTEGER,
    "conversation_id" TEXT,
    "message_id" TEXT,
    "task_id" TEXT,
    "workflow_run_id" TEXT,
    "total_tokens" INTEGER,
    "total_price" TEXT,
    "currency" TEXT,
    "prompt_text" TEXT,
    "answer_text" TEXT,
    "details" JSONB,

    CONSTRAINT "audit_pending_pkey" PRIMARY KEY ("pending_no")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_pending_id_key" ON "audit_pending"("id");

-- CreateIndex
CREATE INDEX "audit_pending_call_id_idx" ON "audit_pending"("call_id");

-- CreateIndex
CREATE INDEX "audit_pending_type_instance_id_idx" ON "audit_pending"("type", "instance_id");

-- The time the event was recorded (write-ahead), kept inside the hashed body; recorded_at is now
-- the sealing time. Null on events sealed before this migration (their hash does not cover it).
-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN "received_at" TIMESTAMPTZ(3);
