-- CreateTable
CREATE TABLE "request_hours" (
    "hour" TIMESTAMPTZ(0) NOT NULL,
    "service_id" UUID NOT NULL,
    "total" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "slow" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "request_hours_pkey" PRIMARY KEY ("service_id","hour")
);

-- CreateIndex
CREATE INDEX "request_hours_hour_idx" ON "request_hours"("hour");

-- Hours of the request counts stored so far (UTC hours, whatever the session's time zone).
INSERT INTO "request_hours" ("hour", "service_id", "total", "errors", "slow")
SELECT to_timestamp(floor(extract(epoch FROM "minute") / 3600) * 3600), "service_id", sum("total"), sum("errors"), sum("slow")
  FROM "request_rollups"
 GROUP BY 1, 2
HAVING sum("total") > 0;
