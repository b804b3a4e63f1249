-- The service rollups become sparse (a row only for a period with a state change, and the state it ended in): the dense rows
-- have no end state, so they are dropped and rolled up again from the state changes by the leader's next runs.
TRUNCATE "availability_hours", "availability_days";
DELETE FROM "rollup_watermarks" WHERE "name" IN ('availability_hours', 'availability_days');

-- AlterTable
ALTER TABLE "availability_days" ADD COLUMN     "end_state" VARCHAR(16) NOT NULL;

-- AlterTable
ALTER TABLE "availability_hours" ADD COLUMN     "end_state" VARCHAR(16) NOT NULL;

-- CreateTable
CREATE TABLE "instance_availability_hours" (
    "instance_id" UUID NOT NULL,
    "hour" TIMESTAMPTZ(0) NOT NULL,
    "known_ms" BIGINT NOT NULL,
    "down_ms" BIGINT NOT NULL,
    "end_state" VARCHAR(16) NOT NULL,

    CONSTRAINT "instance_availability_hours_pkey" PRIMARY KEY ("instance_id","hour")
);

-- CreateTable
CREATE TABLE "instance_availability_days" (
    "instance_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "known_ms" BIGINT NOT NULL,
    "down_ms" BIGINT NOT NULL,
    "end_state" VARCHAR(16) NOT NULL,

    CONSTRAINT "instance_availability_days_pkey" PRIMARY KEY ("instance_id","day")
);

-- CreateIndex
CREATE INDEX "instance_availability_hours_hour_idx" ON "instance_availability_hours"("hour");

-- CreateIndex
CREATE INDEX "instance_availability_days_day_idx" ON "instance_availability_days"("day");

-- CreateIndex
CREATE INDEX "instance_transitions_at_idx" ON "instance_transitions" USING BRIN ("at");

-- CreateIndex
CREATE INDEX "service_transitions_at_idx" ON "service_transitions" USING BRIN ("at");
