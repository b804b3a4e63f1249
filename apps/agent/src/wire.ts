/** Heartbeats as the contract puts them on the wire (POST /api/v1/heartbeats). */
export interface WireHeartbeat {
  service: string;
  instance: string;
  status: 'up' | 'degraded' | 'down';
  /** ISO time the agent made it: buffered heartbeats keep their own time. */
  at: string;
  intervalSeconds: number;
  address?: string;
  port?: number;
  zone?: string;
  region?: string;
  metrics?: WireMetrics;
  /** The peer agent that relayed this heartbeat (gossip). */
  via?: string;
  /** Extension: the failing checks and their errors, when the status is not up. */
  reason?: string;
  /** Extension: this agent's gossip view of its group (sent on one heartbeat per request). */
  peers?: { alive: string[]; suspect: string[]; dead: string[] };
}

export interface WireDependency {
  calls: number;
  failures: number;
  slowCalls: number;
  latencyMsP50?: number;
  latencyMsP99?: number;
}

export interface WireMetrics {
  dependencies?: Record<string, WireDependency>;
  /** `latencyMs`: cumulative buckets, Prometheus-style: { "<upper bound ms>": requests that took at most that long, "+Inf": requests measured }. */
  requests?: { total: number; errors: number; slow?: number; latencyMs?: Record<string, number> };
  rateLimited?: Record<string, number>;
}

/** Dependency names the control plane accepts (service names, or host:port and URL-ish names). */
export const DEPENDENCY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
/** The control plane takes at most this many dependencies (and rate-limit policies) per heartbeat. */
export const MAX_MAP_ENTRIES = 200;
/** … and at most this many heartbeats per request. */
export const MAX_BATCH = 1000;
/** The largest count (calls, failures, requests, ...) the control plane accepts. */
export const MAX_COUNT = 1e12;
/** The control plane takes at most this many latency bucket bounds per heartbeat. */
export const MAX_LATENCY_BUCKETS = 64;
/** The largest latency (p50/p99, bucket bounds; ms) the control plane accepts. */
export const MAX_LATENCY_MS = 3_600_000;
