/**
 * The events the dashboard and API clients receive over socket.io (path
 * `/ws`). Each payload carries the resource as the REST API shows it and an
 * `at` time. Producers (api or worker) publish on Redis; every api replica
 * fans them out to its sockets, so any number of replicas work.
 */
export const RealtimeEvent = {
  InstanceState: 'instance.state',
  ServiceState: 'service.state',
  SloUpdate: 'slo.update',
  BreakerState: 'breaker.state',
  IncidentUpdate: 'incident.update',
  RunUpdate: 'run.update',
  /** Something noticed beyond a state change: a partition, consensus trouble, an unmet survival goal, an ingress problem. */
  Signal: 'signal',
} as const;
export type RealtimeEvent = (typeof RealtimeEvent)[keyof typeof RealtimeEvent];

export interface RealtimeMessage {
  event: RealtimeEvent;
  payload: Record<string, unknown> & { at: string };
}
