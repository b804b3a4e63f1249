export * from './availability-report.service.js';
export * from './burn-rate.js';
export * from './slo-evaluator.service.js';
export * from './slo-metrics.service.js';
export * from './slo.module.js';
export * from './slo.service.js';
export * from './window.js';
