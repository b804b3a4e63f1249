-- CreateTable
CREATE TABLE "request_days" (
    "day" DATE NOT NULL,
    "service_id" UUID NOT NULL,
    "total" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "slow" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "request_days_pkey" PRIMARY KEY ("service_id","day")
);

-- CreateIndex
CREATE INDEX "request_days_day_idx" ON "request_days"("day");

-- Days of the request counts stored so far.
INSERT INTO "request_days" ("day", "service_id", "total", "errors", "slow")
SELECT ("hour" AT TIME ZONE 'UTC')::date, "service_id", sum("total"), sum("errors"), sum("slow")
  FROM "request_hours"
 GROUP BY 1, 2;
