// Services, instances, discovery and failure detection.
export * from './detection.js';
export * from './detector-sweep.service.js';
export * from './flap-detector.js';
export * from './heartbeat.js';
export * from './heartbeat-stream.js';
export * from './ingest-drain.service.js';
export * from './ingest.repository.js';
export * from './instance-state.js';
export * from './instance-store.js';
export * from './phi-accrual.js';
export * from './probes.service.js';
export * from './quorum.js';
export * from './registry.module.js';
export * from './registry.service.js';
export * from './state-changes.service.js';
