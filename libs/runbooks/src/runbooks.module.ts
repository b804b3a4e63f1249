import { Module } from '@nestjs/common';
import { RecoveryPointsService } from './recovery-points.service.js';

/** Runbooks, failover and disaster recovery (so far: recovery points). */
@Module({
  providers: [RecoveryPointsService],
  exports: [RecoveryPointsService],
})
export class RunbooksModule {}
