-- CreateTable
CREATE TABLE "maintenance_windows" (
    "id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "reason" VARCHAR(512),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "maintenance_windows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "availability_hours" (
    "service_id" UUID NOT NULL,
    "hour" TIMESTAMPTZ(0) NOT NULL,
    "known_ms" BIGINT NOT NULL,
    "down_ms" BIGINT NOT NULL,

    CONSTRAINT "availability_hours_pkey" PRIMARY KEY ("service_id","hour")
);

-- CreateTable
CREATE TABLE "availability_days" (
    "service_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "known_ms" BIGINT NOT NULL,
    "down_ms" BIGINT NOT NULL,

    CONSTRAINT "availability_days_pkey" PRIMARY KEY ("service_id","day")
);

-- CreateTable
CREATE TABLE "rollup_watermarks" (
    "name" VARCHAR(63) NOT NULL,
    "through" TIMESTAMPTZ(0) NOT NULL,

    CONSTRAINT "rollup_watermarks_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "maintenance_windows_service_id_ends_at_idx" ON "maintenance_windows"("service_id", "ends_at");

-- CreateIndex
CREATE INDEX "availability_hours_hour_idx" ON "availability_hours"("hour");

-- CreateIndex
CREATE INDEX "availability_days_day_idx" ON "availability_days"("day");

-- AddForeignKey
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;
