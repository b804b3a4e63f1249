-- AlterTable
ALTER TABLE "services" ADD COLUMN     "public" BOOLEAN NOT NULL DEFAULT true;
