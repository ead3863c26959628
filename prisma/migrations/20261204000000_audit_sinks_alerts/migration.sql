-- Audit push to SIEMs and alerts. A sink's cursor is the highest seq it has delivered (at least
-- once): delivery resumes after it on any replica, so nothing sealed is skipped across restarts.
-- The row is only moved forward (GREATEST), by the replica holding the sink's advisory lock.

-- CreateTable
CREATE TABLE "audit_sink_cursors" (
    "sink" TEXT NOT NULL,
    "last_seq" BIGINT NOT NULL DEFAULT 0,
    "last_hash" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_sink_cursors_pkey" PRIMARY KEY ("sink")
);

-- One row per alert occurrence (kind + subject + episode): the replica whose insert wins sends
-- it, the others see the conflict and stay quiet, so an occurrence is sent once across replicas.

-- CreateTable
CREATE TABLE "alert_occurrences" (
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "alert_occurrences_pkey" PRIMARY KEY ("key")
);
