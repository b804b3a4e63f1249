-- CreateEnum
CREATE TYPE "SignalSeverity" AS ENUM ('info', 'warning', 'critical');

-- CreateTable
CREATE TABLE "signals" (
    "id" BIGSERIAL NOT NULL,
    "kind" VARCHAR(64) NOT NULL,
    "severity" "SignalSeverity" NOT NULL,
    "dedup_key" VARCHAR(255) NOT NULL,
    "service_id" UUID,
    "instance_id" UUID,
    "message" VARCHAR(1024) NOT NULL,
    "details" JSONB,
    "raised_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "count" INTEGER NOT NULL DEFAULT 1,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "signals_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "signals_dedup_key_resolved_at_idx" ON "signals"("dedup_key", "resolved_at");

-- CreateIndex
CREATE INDEX "signals_raised_at_idx" ON "signals"("raised_at");
