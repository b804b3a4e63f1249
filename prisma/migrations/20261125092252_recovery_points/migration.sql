-- CreateTable
CREATE TABLE "recovery_points" (
    "id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "location" VARCHAR(1024),
    "recorded_by" UUID,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recovery_points_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "recovery_points_service_id_at_idx" ON "recovery_points"("service_id", "at" DESC);

-- AddForeignKey
ALTER TABLE "recovery_points" ADD CONSTRAINT "recovery_points_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;
