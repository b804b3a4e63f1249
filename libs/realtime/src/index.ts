export * from './realtime-events.js';
export * from './realtime-publisher.js';
export * from './realtime.module.js';
export * from './realtime-rooms.js';
