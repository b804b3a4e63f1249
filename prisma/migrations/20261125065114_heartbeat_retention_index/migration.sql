-- CreateIndex
CREATE INDEX "heartbeats_received_at_idx" ON "heartbeats" USING BRIN ("received_at");
