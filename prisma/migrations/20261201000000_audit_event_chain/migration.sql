-- The per-call audit_records table (never released) becomes an append-only, hash-chained event log.
DROP TABLE "audit_records";

-- CreateTable
CREATE TABLE "audit_events" (
    "seq" BIGINT NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,
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
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "key_id" TEXT,
    "signature" TEXT,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "key_id" TEXT,
    "signature" TEXT,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_events_id_key" ON "audit_events"("id");

-- CreateIndex
CREATE INDEX "audit_events_recorded_at_seq_idx" ON "audit_events"("recorded_at", "seq");

-- CreateIndex
CREATE INDEX "audit_events_caller_key_id_seq_idx" ON "audit_events"("caller_key_id", "seq");

-- CreateIndex
CREATE INDEX "audit_events_app_alias_seq_idx" ON "audit_events"("app_alias", "seq");

-- CreateIndex
CREATE INDEX "audit_events_end_user_seq_idx" ON "audit_events"("end_user", "seq");

-- CreateIndex
CREATE INDEX "audit_events_outcome_seq_idx" ON "audit_events"("outcome", "seq");

-- CreateIndex
CREATE INDEX "audit_events_call_id_idx" ON "audit_events"("call_id");

-- CreateIndex
CREATE INDEX "audit_events_request_id_idx" ON "audit_events"("request_id");

-- CreateIndex
CREATE INDEX "audit_events_conversation_id_idx" ON "audit_events"("conversation_id");

-- CreateIndex
CREATE INDEX "audit_events_message_id_idx" ON "audit_events"("message_id");

-- CreateIndex
CREATE INDEX "audit_events_type_instance_id_idx" ON "audit_events"("type", "instance_id");

-- CreateIndex
CREATE INDEX "audit_checkpoints_seq_idx" ON "audit_checkpoints"("seq");
