-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "scopes" TEXT[],
    "apps" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_records" (
    "id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "caller_key_id" UUID,
    "caller_name" TEXT,
    "app_alias" TEXT,
    "method" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "upstream_status" INTEGER,
    "outcome" TEXT NOT NULL,
    "error_code" TEXT,
    "latency_ms" INTEGER NOT NULL,
    "attempts" INTEGER NOT NULL,
    "conversation_id" TEXT,
    "message_id" TEXT,
    "task_id" TEXT,
    "workflow_run_id" TEXT,

    CONSTRAINT "audit_records_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "audit_records_started_at_id_idx" ON "audit_records"("started_at", "id");

-- CreateIndex
CREATE INDEX "audit_records_caller_key_id_started_at_id_idx" ON "audit_records"("caller_key_id", "started_at", "id");

-- CreateIndex
CREATE INDEX "audit_records_app_alias_started_at_id_idx" ON "audit_records"("app_alias", "started_at", "id");
