import { Module } from '@nestjs/common';
import { RealtimeModule } from '#realtime';
import { RegistryModule, RegistryWorkerModule } from '#registry';
import { AvailabilityReportService } from './availability-report.service.js';
import { SloEvaluator } from './slo-evaluator.service.js';
import { SloMetrics } from './slo-metrics.service.js';
import { SloService } from './slo.service.js';

/** SLO definitions and their evaluation; their figures on /metrics. */
@Module({
  imports: [RegistryModule],
  providers: [SloService, SloMetrics, AvailabilityReportService],
  exports: [SloService, AvailabilityReportService],
})
export class SloModule {}

/** What a worker runs: the leader's periodic evaluation of every SLO. */
@Module({
  imports: [RegistryWorkerModule, RealtimeModule],
  providers: [SloService, SloEvaluator],
})
export class SloWorkerModule {}
