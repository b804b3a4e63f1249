-- AlterTable
ALTER TABLE "slos" ADD COLUMN     "budget_remaining" DOUBLE PRECISION,
ADD COLUMN     "evaluated_at" TIMESTAMPTZ(3),
ADD COLUMN     "firing" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "sli_value" DOUBLE PRECISION;
