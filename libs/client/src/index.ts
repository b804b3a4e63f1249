// @ninefold/client: report dependency calls and requests to the local ninefold-agent, fail fast on open breakers.
export * from './ninefold-client.js';
