-- AlterEnum
ALTER TYPE "SliType" ADD VALUE 'latency';

-- AlterTable
ALTER TABLE "request_days" ADD COLUMN     "latency" JSONB,
ADD COLUMN     "latency_total" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "request_hours" ADD COLUMN     "latency" JSONB,
ADD COLUMN     "latency_total" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "request_rollups" ADD COLUMN     "latency" JSONB,
ADD COLUMN     "latency_total" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "slos" ADD COLUMN     "threshold_ms" DOUBLE PRECISION;

-- Latency buckets ({ "<upper bound ms>": count }, not cumulative) added bound by bound: how the drain adds a batch to a rollup row.
CREATE FUNCTION ninefold_latency_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE
    (SELECT jsonb_object_agg(key, n) FROM (
       SELECT key, sum(value::bigint) AS n FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) e GROUP BY key) s)
  END
$$;

-- The requests of the buckets whose upper bound is at most `le` ms: those known to have taken at most `le`.
CREATE FUNCTION ninefold_latency_within(buckets jsonb, le double precision) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(sum(value::bigint), 0)::bigint FROM jsonb_each_text(buckets) WHERE key::double precision <= le
$$;
