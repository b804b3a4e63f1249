-- CreateEnum
CREATE TYPE "SliType" AS ENUM ('availability', 'requests');

-- CreateEnum
CREATE TYPE "SloWindow" AS ENUM ('rolling', 'calendar_month');

-- CreateTable
CREATE TABLE "slos" (
    "id" UUID NOT NULL,
    "service_id" UUID NOT NULL,
    "name" VARCHAR(63) NOT NULL,
    "objective" DOUBLE PRECISION NOT NULL,
    "sli_type" "SliType" NOT NULL,
    "window" "SloWindow" NOT NULL DEFAULT 'rolling',
    "window_days" INTEGER NOT NULL DEFAULT 30,
    "min_events" INTEGER NOT NULL DEFAULT 0,
    "description" VARCHAR(1024),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "slos_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "slos_service_id_name_key" ON "slos"("service_id", "name");

-- AddForeignKey
ALTER TABLE "slos" ADD CONSTRAINT "slos_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;
