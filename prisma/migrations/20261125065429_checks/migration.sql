-- CreateEnum
CREATE TYPE "CheckType" AS ENUM ('http', 'tcp');

-- CreateEnum
CREATE TYPE "CheckRunner" AS ENUM ('worker', 'probers');

-- CreateTable
CREATE TABLE "checks" (
    "id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "instance" VARCHAR(63) NOT NULL,
    "type" "CheckType" NOT NULL,
    "target" VARCHAR(2048) NOT NULL,
    "interval_seconds" INTEGER NOT NULL,
    "timeout_ms" INTEGER NOT NULL,
    "expect_status" INTEGER,
    "expect_body" VARCHAR(1024),
    "retries" INTEGER NOT NULL DEFAULT 1,
    "run_on" "CheckRunner" NOT NULL DEFAULT 'worker',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "checks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "checks_service_id_idx" ON "checks"("service_id");

-- CreateIndex
CREATE UNIQUE INDEX "checks_service_id_instance_type_target_key" ON "checks"("service_id", "instance", "type", "target");

-- AddForeignKey
ALTER TABLE "checks" ADD CONSTRAINT "checks_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;
