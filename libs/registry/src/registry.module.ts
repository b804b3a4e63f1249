import { Module } from '@nestjs/common';
import { RealtimeModule } from '#realtime';
import { AgentsService } from './agents.service.js';
import { CheckResults } from './checks/check-results.service.js';
import { ChecksService } from './checks/checks.service.js';
import { ClusterWatch } from './cluster-watch.service.js';
import { DetectorSweep } from './detector-sweep.service.js';
import { GossipEvidenceStore } from './gossip-evidence.js';
import { HeartbeatStream } from './heartbeat-stream.js';
import { IngestDrain } from './ingest-drain.service.js';
import { IngestRepository } from './ingest.repository.js';
import { InstanceStore } from './instance-store.js';
import { ProbesService } from './probes.service.js';
import { RegistryHousekeeping } from './registry-housekeeping.service.js';
import { RegistryService } from './registry.service.js';
import { ServiceHistoryService } from './service-history.service.js';
import { SignalsService } from './signals.service.js';
import { StateChanges } from './state-changes.service.js';
import { AvailabilityRollups } from './availability-rollups.js';
import { MaintenanceService } from './maintenance.service.js';
import { StateHistoryRepository } from './state-history.repository.js';
import { StatusPageService } from './status-page.service.js';
import { TransitionsConsumer } from './transitions-consumer.service.js';
import { RegistryMetrics } from './registry-metrics.service.js';
import { IngressPresence } from './ingress-presence.service.js';

/** What the api needs: heartbeat acceptance, registry and discovery, state history and the status page. */
@Module({
  imports: [RealtimeModule],
  providers: [HeartbeatStream, InstanceStore, AvailabilityRollups, MaintenanceService, StateHistoryRepository, RegistryService, ServiceHistoryService, StatusPageService, ProbesService, SignalsService, ClusterWatch, ChecksService, CheckResults, AgentsService, RegistryMetrics, IngressPresence],
  exports: [HeartbeatStream, InstanceStore, AvailabilityRollups, MaintenanceService, StateHistoryRepository, RegistryService, ServiceHistoryService, StatusPageService, ProbesService, ChecksService, AgentsService],
})
export class RegistryModule {}

/** What a worker runs: the ingest drain on every replica, the detection sweep on the leader. */
@Module({
  imports: [RealtimeModule],
  providers: [HeartbeatStream, InstanceStore, IngestRepository, StateChanges, SignalsService, ClusterWatch, ProbesService, GossipEvidenceStore, IngestDrain, DetectorSweep, TransitionsConsumer, RegistryHousekeeping, AvailabilityRollups, MaintenanceService, StateHistoryRepository, RegistryService, ChecksService, CheckResults],
  exports: [IngestDrain, DetectorSweep, SignalsService, ChecksService, CheckResults, ProbesService, StateHistoryRepository, AvailabilityRollups],
})
export class RegistryWorkerModule {}
