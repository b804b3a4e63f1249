// Runbooks, failover and disaster recovery.
export * from './recovery-points.service.js';
export * from './runbooks.module.js';
