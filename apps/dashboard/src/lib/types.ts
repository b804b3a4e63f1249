/** What the API answers, as the dashboard reads it (see /api/docs for the full documents). */
export type ServiceState = 'UP' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';
export type InstanceState = 'UP' | 'SUSPECT' | 'DOWN' | 'UNKNOWN';
export type Windowed = Record<'1h' | '24h' | '7d' | '30d', number | null> & { '90d'?: number | null };
export interface Survives {
  node: boolean;
  zone: boolean;
  region: boolean;
}

export interface OverviewItem {
  name: string;
  tier: string | null;
  public?: boolean;
  state: ServiceState;
  stateSince: string;
  stateReason: string | null;
  instances: { total: number; up: number; suspect: number; down: number; flapping: number };
  availability: Windowed;
  composite30d: number | null;
  canLose: number;
  survives: Survives;
  survivalGoal: 'node' | 'zone' | 'region' | null;
  survivalGoalMet: boolean | null;
  leader: { id: string; term: number | null; since: string } | null;
  budget: { remaining: number; slo: string } | null;
}

export interface Overview {
  totals: {
    services: Record<ServiceState, number>;
    instances: Record<InstanceState, number>;
    openSignals: Record<'info' | 'warning' | 'critical', number>;
  };
  items: OverviewItem[];
  nextCursor: string | null;
}

export interface Instance {
  id: string;
  service: string;
  address: string | null;
  port: number | null;
  zone: string | null;
  region: string | null;
  state: InstanceState;
  status: 'up' | 'degraded' | 'down' | null;
  since: string;
  reason: string | null;
  lastSeenAt: string | null;
  flapping: boolean;
  partitioned: boolean;
  /** Its own availability (SUSPECT counts as up); absent for an instance first seen live, until the page reloads. */
  availability?: Windowed;
}

export interface Service extends Omit<OverviewItem, 'instances'> {
  description: string | null;
  dependsOn: string[][];
  quorum: 'any' | 'majority' | 'bft';
  minHealthy: number;
  instances: Instance[];
  selfRegistered: boolean;
  public?: boolean;
  /** The maintenance window it is in now (left out of availability). */
  maintenance?: { id: string; from: string; to: string; reason: string | null } | null;
}

export interface HistoryItem {
  at: string;
  kind: 'service' | 'instance';
  instance: string | null;
  from: string;
  to: string;
  reason: string | null;
}

export interface UptimeDay {
  date: string;
  availability: number | null;
  downSeconds?: number;
  knownSeconds?: number;
}

export interface Uptime {
  service: string;
  days: UptimeDay[];
  availability: number | null;
  downSeconds: number;
}

export interface Agent {
  instance: string;
  /** The later of its last report and its last heartbeat. */
  lastSeenAt: string;
  lastReportAt: string;
  lastHeartbeatAt: string | null;
  connected: boolean;
  version: string;
  services: string[];
  prober: boolean;
  zone?: string;
  region?: string;
  address?: string;
  queue: { waiting: number; sent: number; dropped: number; rejected: number };
  startedAt: string;
  lastSuccessAt: string | null;
  gossip?: { group: string; alive: number; members: number };
}

export interface PublicStatus {
  title: string;
  updatedAt: string;
  state: 'operational' | 'degraded' | 'partial_outage' | 'major_outage' | 'unknown';
  services: { name: string; description: string | null; state: ServiceState; stateSince: string; uptime90d: number | null; days: UptimeDay[] }[];
}

export interface SloAlert {
  severity: 'page' | 'ticket';
  longWindow: string;
  shortWindow: string;
  burnRate: number;
  firing: boolean;
  longBurnRate: number | null;
  shortBurnRate: number | null;
  suppressed: string | null;
}

export interface Slo {
  id: string;
  service: string;
  name: string;
  objective: number;
  window: 'rolling' | 'calendar_month';
  windowDays: number;
  sli: { type: 'availability' | 'requests' | 'latency'; thresholdMs?: number; value: number | null; good: number; total: number };
  errorBudget: { allowedSeconds?: number; allowedEvents?: number; consumed: number; remaining: number | null };
  burnRates: Record<'5m' | '30m' | '1h' | '6h' | '1d' | '3d', number | null>;
  alerts: SloAlert[];
  evaluatedAt: string;
}
