-- Keys v2: several apps, dataset allow-list, namespace of the Dify `user`, per-key limits,
-- expiry, last use, rotation with a grace period. Plus the owners of Dify ids that Dify itself
-- does not scope by `user`.

-- AlterTable
ALTER TABLE "api_keys"
    ADD COLUMN "datasets" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "namespace" TEXT,
    ADD COLUMN "requests_per_minute" INTEGER,
    ADD COLUMN "concurrent_streams" INTEGER,
    ADD COLUMN "daily_tokens" INTEGER,
    ADD COLUMN "expires_at" TIMESTAMPTZ(3),
    ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ADD COLUMN "last_used_at" TIMESTAMPTZ(3),
    ADD COLUMN "rotated_at" TIMESTAMPTZ(3),
    ADD COLUMN "previous_hash" TEXT,
    ADD COLUMN "previous_hash_expires_at" TIMESTAMPTZ(3);

-- Keys created before this migration get the namespace new keys get by default: the first 12
-- hex digits of their id.
UPDATE "api_keys" SET "namespace" = substr(replace("id"::text, '-', ''), 1, 12) WHERE "namespace" IS NULL;
ALTER TABLE "api_keys" ALTER COLUMN "namespace" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_previous_hash_key" ON "api_keys"("previous_hash");

-- CreateTable
CREATE TABLE "dify_resource_owners" (
    "app_alias" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dify_resource_owners_pkey" PRIMARY KEY ("app_alias","kind","resource_id")
);

-- CreateIndex
CREATE INDEX "dify_resource_owners_kind_created_at_idx" ON "dify_resource_owners"("kind", "created_at");
