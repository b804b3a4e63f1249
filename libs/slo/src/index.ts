export * from './burn-rate.js';
