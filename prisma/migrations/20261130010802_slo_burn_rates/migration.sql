-- AlterTable
ALTER TABLE "slos" ADD COLUMN     "burn_rates" JSONB;
