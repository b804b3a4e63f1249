-- CreateEnum
CREATE TYPE "QuorumRule" AS ENUM ('any', 'majority', 'bft');

-- CreateEnum
CREATE TYPE "SurvivalGoal" AS ENUM ('node', 'zone', 'region');

-- CreateEnum
CREATE TYPE "ServiceState" AS ENUM ('UP', 'DEGRADED', 'DOWN', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "InstanceState" AS ENUM ('UP', 'SUSPECT', 'DOWN', 'UNKNOWN');

-- CreateEnum
CREATE TYPE "DetectorKind" AS ENUM ('fixed', 'phi');

-- CreateEnum
CREATE TYPE "ReportedStatus" AS ENUM ('up', 'degraded', 'down');

-- CreateTable
CREATE TABLE "services" (
    "id" UUID NOT NULL,
    "name" VARCHAR(63) NOT NULL,
    "description" VARCHAR(1024),
    "tier" VARCHAR(32),
    "depends_on" JSONB NOT NULL DEFAULT '[]',
    "survival_goal" "SurvivalGoal",
    "quorum" "QuorumRule" NOT NULL DEFAULT 'any',
    "min_healthy" INTEGER NOT NULL DEFAULT 1,
    "detector" "DetectorKind" NOT NULL DEFAULT 'fixed',
    "phi_threshold" DOUBLE PRECISION NOT NULL DEFAULT 8,
    "self_registered" BOOLEAN NOT NULL DEFAULT false,
    "state" "ServiceState" NOT NULL DEFAULT 'UNKNOWN',
    "state_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "state_reason" VARCHAR(512),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instances" (
    "id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "name" VARCHAR(63) NOT NULL,
    "address" VARCHAR(255),
    "port" INTEGER,
    "zone" VARCHAR(63),
    "region" VARCHAR(63),
    "meta" JSONB,
    "interval_seconds" INTEGER NOT NULL DEFAULT 10,
    "ttl_seconds" INTEGER,
    "grace_seconds" INTEGER,
    "state" "InstanceState" NOT NULL DEFAULT 'UNKNOWN',
    "state_since" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "state_reason" VARCHAR(512),
    "status" "ReportedStatus",
    "role" VARCHAR(16),
    "term" BIGINT,
    "flapping" BOOLEAN NOT NULL DEFAULT false,
    "last_seen_at" TIMESTAMPTZ(3),
    "self_registered" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instance_transitions" (
    "id" BIGSERIAL NOT NULL,
    "service_id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "from" "InstanceState" NOT NULL,
    "to" "InstanceState" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "reason" VARCHAR(512) NOT NULL,

    CONSTRAINT "instance_transitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_transitions" (
    "id" BIGSERIAL NOT NULL,
    "service_id" UUID NOT NULL,
    "from" "ServiceState" NOT NULL,
    "to" "ServiceState" NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "reason" VARCHAR(512),

    CONSTRAINT "service_transitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "heartbeats" (
    "id" BIGSERIAL NOT NULL,
    "instance_id" UUID NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "sent_at" TIMESTAMPTZ(3),
    "status" "ReportedStatus" NOT NULL,
    "via" VARCHAR(63),

    CONSTRAINT "heartbeats_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingested_batches" (
    "stream_id" VARCHAR(32) NOT NULL,
    "count" INTEGER NOT NULL,
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ingested_batches_pkey" PRIMARY KEY ("stream_id")
);

-- CreateTable
CREATE TABLE "request_rollups" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "instance_id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "heartbeats" INTEGER NOT NULL DEFAULT 0,
    "total" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "slow" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "request_rollups_pkey" PRIMARY KEY ("minute","instance_id")
);

-- CreateTable
CREATE TABLE "dependency_rollups" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "instance_id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "dependency" VARCHAR(128) NOT NULL,
    "calls" BIGINT NOT NULL DEFAULT 0,
    "failures" BIGINT NOT NULL DEFAULT 0,
    "slow_calls" BIGINT NOT NULL DEFAULT 0,
    "latency_p50_ms" DOUBLE PRECISION,
    "latency_p99_ms" DOUBLE PRECISION,

    CONSTRAINT "dependency_rollups_pkey" PRIMARY KEY ("minute","instance_id","dependency")
);

-- CreateTable
CREATE TABLE "rate_limit_rollups" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "instance_id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "policy" VARCHAR(63) NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "rate_limit_rollups_pkey" PRIMARY KEY ("minute","instance_id","policy")
);

-- CreateIndex
CREATE UNIQUE INDEX "services_name_key" ON "services"("name");

-- CreateIndex
CREATE INDEX "instances_state_state_since_idx" ON "instances"("state", "state_since");

-- CreateIndex
CREATE UNIQUE INDEX "instances_service_id_name_key" ON "instances"("service_id", "name");

-- CreateIndex
CREATE INDEX "instance_transitions_instance_id_at_idx" ON "instance_transitions"("instance_id", "at");

-- CreateIndex
CREATE INDEX "instance_transitions_service_id_at_idx" ON "instance_transitions"("service_id", "at");

-- CreateIndex
CREATE INDEX "service_transitions_service_id_at_idx" ON "service_transitions"("service_id", "at");

-- CreateIndex
CREATE INDEX "ingested_batches_ingested_at_idx" ON "ingested_batches"("ingested_at");

-- CreateIndex
CREATE INDEX "request_rollups_service_id_minute_idx" ON "request_rollups"("service_id", "minute");

-- CreateIndex
CREATE INDEX "dependency_rollups_service_id_dependency_minute_idx" ON "dependency_rollups"("service_id", "dependency", "minute");

-- CreateIndex
CREATE INDEX "rate_limit_rollups_service_id_policy_minute_idx" ON "rate_limit_rollups"("service_id", "policy", "minute");

-- AddForeignKey
ALTER TABLE "instances" ADD CONSTRAINT "instances_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;
