/**
 * Heartbeats as agents send them, and their validation.
 *
 * This is the hottest path in the product (up to 1,000 items per request,
 * 100,000+ per second), so it is a hand-written validator rather than
 * class-validator: one pass, no class instances, and every problem of every
 * item reported at once as `heartbeats[i].field …`.
 */

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const MAX_BATCH = 1000;
export const REPORTED_STATUSES = ['up', 'degraded', 'down'] as const;
export type HeartbeatStatus = (typeof REPORTED_STATUSES)[number];
export const CLUSTER_ROLES = ['leader', 'follower', 'primary', 'replica'] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

export interface DependencyCounts {
  calls: number;
  failures: number;
  slowCalls: number;
  latencyMsP50?: number;
  latencyMsP99?: number;
}

/**
 * Request latencies as stored: the requests whose latency was measured, and
 * how many fell in each bucket — keyed by the bucket's upper bound in ms (as
 * `String(number)`), not cumulative, empty buckets left out. Those slower
 * than every bound are `measured` minus the buckets' sum.
 */
export interface LatencyCounts {
  measured: number;
  buckets: Record<string, number>;
}

export interface RequestMetrics {
  total: number;
  errors: number;
  slow?: number;
  /** From the heartbeat's `latencyMs` (cumulative `le` buckets on the wire). */
  latency?: LatencyCounts;
}

export interface HeartbeatMetrics {
  dependencies?: Record<string, DependencyCounts>;
  requests?: RequestMetrics;
  rateLimited?: Record<string, number>;
}

/** A validated heartbeat, with defaults applied. */
export interface Heartbeat {
  service: string;
  instance: string;
  status: HeartbeatStatus;
  /** The agent's own send time (ms since the epoch), when given. */
  atMs?: number;
  intervalSeconds?: number;
  address?: string;
  /** Extension of the contract: the port probers connect to when confirming a silent instance. */
  port?: number;
  zone?: string;
  region?: string;
  role?: ClusterRole;
  term?: number;
  metrics?: HeartbeatMetrics;
  via?: string;
  /** Extension: why the instance reports this status (the failing check and its error), shown as the reason of a self-reported DOWN. */
  reason?: string;
  /** Extension: the sending agent's gossip view of its group (evidence when a member falls silent). */
  peers?: PeerView;
}

/** Who an agent's gossip group says is alive, suspected or dead (agent instance names). */
export interface PeerView {
  alive: string[];
  suspect: string[];
  dead: string[];
}

/** The longest {@link Heartbeat.reason}. */
export const MAX_REASON_LENGTH = 300;

/** At most this many names per list of a {@link PeerView}. */
export const MAX_PEERS = 1000;

export type ParseResult = { ok: true; heartbeats: Heartbeat[] } | { ok: false; errors: string[] };

const HEARTBEAT_FIELDS = new Set(['service', 'instance', 'status', 'at', 'intervalSeconds', 'address', 'port', 'zone', 'region', 'role', 'term', 'metrics', 'via', 'reason', 'peers']);
const METRICS_FIELDS = new Set(['dependencies', 'requests', 'rateLimited']);
const DEPENDENCY_FIELDS = new Set(['calls', 'failures', 'slowCalls', 'latencyMsP50', 'latencyMsP99']);
const REQUEST_FIELDS = new Set(['total', 'errors', 'slow', 'latencyMs']);
/** At most this many latency buckets per heartbeat. */
export const MAX_LATENCY_BUCKETS = 64;
/** The largest latency (ms) a bucket bound or a dependency's p50/p99 may have. */
export const MAX_LATENCY_MS = 3_600_000;
const MAX_COUNT = 1e12;
const MAX_MAP_ENTRIES = 200;
/** Agents' clocks may be off; an `at` further than this from now is rejected as a clock error. */
const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/**
 * Parses a request body: one heartbeat, or `{ heartbeats: [...] }` with 1 to
 * {@link MAX_BATCH} items. Any invalid item rejects the whole batch.
 */
export function parseHeartbeats(body: unknown, nowMs: number): ParseResult {
  const errors: string[] = [];
  if (!isObject(body)) return { ok: false, errors: ['body must be a JSON object: one heartbeat or { "heartbeats": [ ... ] }'] };
  let items: unknown[];
  let prefix: (i: number) => string;
  if ('heartbeats' in body) {
    const list = body.heartbeats;
    for (const k of Object.keys(body)) if (k !== 'heartbeats') errors.push(`property ${k} should not exist next to heartbeats`);
    if (!Array.isArray(list)) return { ok: false, errors: [...errors, 'heartbeats must be an array'] };
    if (list.length === 0) return { ok: false, errors: [...errors, 'heartbeats must contain at least 1 heartbeat'] };
    if (list.length > MAX_BATCH) return { ok: false, errors: [...errors, `heartbeats must contain at most ${MAX_BATCH} heartbeats (got ${list.length})`] };
    items = list;
    prefix = (i) => `heartbeats[${i}].`;
  } else {
    items = [body];
    prefix = () => '';
  }
  const heartbeats: Heartbeat[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const hb = parseOne(items[i], prefix(i), nowMs, errors);
    if (hb) heartbeats[i] = hb;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, heartbeats };
}

function parseOne(raw: unknown, p: string, nowMs: number, errors: string[]): Heartbeat | null {
  if (!isObject(raw)) {
    errors.push(p ? `${p.slice(0, -1)} must be an object` : 'a heartbeat must be an object');
    return null;
  }
  const before = errors.length;
  for (const k of Object.keys(raw)) if (!HEARTBEAT_FIELDS.has(k)) errors.push(`${p}${k} is not a heartbeat field`);
  const service = name(raw.service, `${p}service`, errors, true);
  const instance = name(raw.instance, `${p}instance`, errors, true);
  const hb: Heartbeat = { service: service ?? '', instance: instance ?? '', status: 'up' };
  if (raw.status !== undefined) {
    if (typeof raw.status === 'string' && (REPORTED_STATUSES as readonly string[]).includes(raw.status)) hb.status = raw.status as HeartbeatStatus;
    else errors.push(`${p}status must be one of ${REPORTED_STATUSES.join(', ')}`);
  }
  if (raw.at !== undefined) {
    const t = typeof raw.at === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw.at) ? Date.parse(raw.at) : NaN;
    if (Number.isNaN(t)) errors.push(`${p}at must be an ISO-8601 date-time`);
    else if (Math.abs(t - nowMs) > MAX_CLOCK_SKEW_MS) errors.push(`${p}at is more than 24 h away from the server's clock`);
    else hb.atMs = t;
  }
  if (raw.intervalSeconds !== undefined) {
    if (isInt(raw.intervalSeconds) && raw.intervalSeconds >= 1 && raw.intervalSeconds <= 3600) hb.intervalSeconds = raw.intervalSeconds;
    else errors.push(`${p}intervalSeconds must be an integer from 1 to 3600`);
  }
  if (raw.address !== undefined) {
    if (typeof raw.address === 'string' && raw.address.length > 0 && raw.address.length <= 255 && !/\s/.test(raw.address)) hb.address = raw.address;
    else errors.push(`${p}address must be a host name or IP address of at most 255 characters`);
  }
  if (raw.port !== undefined) {
    if (isInt(raw.port) && raw.port >= 1 && raw.port <= 65535) hb.port = raw.port;
    else errors.push(`${p}port must be an integer from 1 to 65535`);
  }
  const zone = name(raw.zone, `${p}zone`, errors, false);
  if (zone) hb.zone = zone;
  const region = name(raw.region, `${p}region`, errors, false);
  if (region) hb.region = region;
  if (raw.role !== undefined) {
    if (typeof raw.role === 'string' && (CLUSTER_ROLES as readonly string[]).includes(raw.role)) hb.role = raw.role as ClusterRole;
    else errors.push(`${p}role must be one of ${CLUSTER_ROLES.join(', ')}`);
  }
  if (raw.term !== undefined) {
    if (isInt(raw.term) && raw.term >= 0 && raw.term <= Number.MAX_SAFE_INTEGER) hb.term = raw.term;
    else errors.push(`${p}term must be a non-negative integer`);
  }
  const via = name(raw.via, `${p}via`, errors, false);
  if (via) hb.via = via;
  if (raw.reason !== undefined) {
    if (typeof raw.reason === 'string' && raw.reason.length >= 1 && raw.reason.length <= MAX_REASON_LENGTH) hb.reason = raw.reason;
    else errors.push(`${p}reason must be a string of 1 to ${MAX_REASON_LENGTH} characters`);
  }
  if (raw.metrics !== undefined) {
    const m = metrics(raw.metrics, `${p}metrics`, errors);
    if (m) hb.metrics = m;
  }
  if (raw.peers !== undefined) {
    const v = peers(raw.peers, `${p}peers`, errors);
    if (v) hb.peers = v;
  }
  return errors.length === before ? hb : null;
}

function peers(raw: unknown, p: string, errors: string[]): PeerView | null {
  if (!isObject(raw)) {
    errors.push(`${p} must be an object { alive?, suspect?, dead? } of instance names`);
    return null;
  }
  const out: PeerView = { alive: [], suspect: [], dead: [] };
  for (const k of Object.keys(raw)) {
    if (k !== 'alive' && k !== 'suspect' && k !== 'dead') {
      errors.push(`${p}.${k} is not a peers field (alive, suspect, dead)`);
      continue;
    }
    const list = raw[k];
    if (!Array.isArray(list) || list.length > MAX_PEERS || !list.every((n) => typeof n === 'string' && NAME_PATTERN.test(n))) {
      errors.push(`${p}.${k} must be a list of at most ${MAX_PEERS} instance names`);
      continue;
    }
    out[k] = list as string[];
  }
  return out;
}

function metrics(raw: unknown, p: string, errors: string[]): HeartbeatMetrics | null {
  if (!isObject(raw)) {
    errors.push(`${p} must be an object`);
    return null;
  }
  for (const k of Object.keys(raw)) if (!METRICS_FIELDS.has(k)) errors.push(`${p}.${k} is not a metrics field (dependencies, requests, rateLimited)`);
  const out: HeartbeatMetrics = {};
  if (raw.dependencies !== undefined) {
    const deps = boundedMap(raw.dependencies, `${p}.dependencies`, errors);
    if (deps) {
      out.dependencies = {};
      for (const [dep, v] of deps) {
        const q = `${p}.dependencies.${dep}`;
        if (!NAME_PATTERN.test(dep) && !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(dep)) {
          errors.push(`${q}: a dependency name must be 1-128 letters, digits or . _ : / -`);
          continue;
        }
        if (!isObject(v)) {
          errors.push(`${q} must be an object { calls, failures, slowCalls, latencyMsP50?, latencyMsP99? }`);
          continue;
        }
        for (const k of Object.keys(v)) if (!DEPENDENCY_FIELDS.has(k)) errors.push(`${q}.${k} is not a dependency field`);
        const calls = count(v.calls, `${q}.calls`, errors, true);
        const failures = count(v.failures, `${q}.failures`, errors, false) ?? 0;
        const slowCalls = count(v.slowCalls, `${q}.slowCalls`, errors, false) ?? 0;
        if (calls !== null && failures > calls) errors.push(`${q}.failures must not exceed calls`);
        if (calls !== null && slowCalls > calls) errors.push(`${q}.slowCalls must not exceed calls`);
        const d: DependencyCounts = { calls: calls ?? 0, failures, slowCalls };
        const p50 = latency(v.latencyMsP50, `${q}.latencyMsP50`, errors);
        const p99 = latency(v.latencyMsP99, `${q}.latencyMsP99`, errors);
        if (p50 !== null) d.latencyMsP50 = p50;
        if (p99 !== null) d.latencyMsP99 = p99;
        out.dependencies[dep] = d;
      }
    }
  }
  if (raw.requests !== undefined) {
    const r = raw.requests;
    const q = `${p}.requests`;
    if (!isObject(r)) errors.push(`${q} must be an object { total, errors, slow?, latencyMs? }`);
    else {
      for (const k of Object.keys(r)) if (!REQUEST_FIELDS.has(k)) errors.push(`${q}.${k} is not a requests field (total, errors, slow, latencyMs)`);
      const total = count(r.total, `${q}.total`, errors, true);
      const errs = count(r.errors, `${q}.errors`, errors, false) ?? 0;
      const slow = count(r.slow, `${q}.slow`, errors, false);
      if (total !== null && errs > total) errors.push(`${q}.errors must not exceed total`);
      if (total !== null && slow !== null && slow > total) errors.push(`${q}.slow must not exceed total`);
      const counts: RequestMetrics = { total: total ?? 0, errors: errs };
      if (slow !== null) counts.slow = slow;
      if (r.latencyMs !== undefined) {
        const latency = latencyBuckets(r.latencyMs, `${q}.latencyMs`, total, errors);
        if (latency) counts.latency = latency;
      }
      out.requests = counts;
    }
  }
  if (raw.rateLimited !== undefined) {
    const map = boundedMap(raw.rateLimited, `${p}.rateLimited`, errors);
    if (map) {
      out.rateLimited = {};
      for (const [policy, v] of map) {
        if (!NAME_PATTERN.test(policy)) {
          errors.push(`${p}.rateLimited.${policy}: a policy name must match ${NAME_PATTERN.source}`);
          continue;
        }
        const n = count(v, `${p}.rateLimited.${policy}`, errors, true);
        if (n !== null) out.rateLimited[policy] = n;
      }
    }
  }
  return out;
}

/**
 * `latencyMs`: cumulative buckets as Prometheus' `le` — `{ "<upper bound
 * ms>": requests that took at most that long, …, "+Inf"?: requests measured }`,
 * "+Inf" defaulting to `total`. Counts must not fall as bounds grow.
 */
export function latencyBuckets(v: unknown, field: string, total: number | null, errors: string[]): LatencyCounts | null {
  const shape = `${field} must be an object of cumulative buckets { "<upper bound in ms>": requests that took at most that long, …, "+Inf"?: requests measured }`;
  if (!isObject(v)) {
    errors.push(shape);
    return null;
  }
  const keys = Object.keys(v);
  if (keys.length === 0 || keys.length > MAX_LATENCY_BUCKETS + 1) {
    errors.push(`${field} must have 1 to ${MAX_LATENCY_BUCKETS} bounds (and "+Inf")`);
    return null;
  }
  let measured: number | null = null;
  const bounds: { key: string; le: number; n: number }[] = [];
  let bad = false;
  for (const key of keys) {
    const n = count(v[key], `${field}["${key}"]`, errors, true);
    if (n === null) {
      bad = true;
      continue;
    }
    if (key === '+Inf') {
      measured = n;
      continue;
    }
    const le = /^\d{1,7}(\.\d{1,3})?$/.test(key) ? Number(key) : NaN;
    if (!(le > 0 && le <= MAX_LATENCY_MS)) {
      errors.push(`${field}: bucket "${key}" must be "+Inf" or an upper bound in ms above 0 and at most ${MAX_LATENCY_MS} (at most 3 decimals)`);
      bad = true;
      continue;
    }
    const same = bounds.find((b) => b.le === le);
    if (same) {
      errors.push(`${field}: buckets "${same.key}" and "${key}" have the same bound`);
      bad = true;
      continue;
    }
    bounds.push({ key: String(le), le, n });
  }
  if (bad) return null;
  if (bounds.length === 0) {
    errors.push(`${field} must have at least one bound besides "+Inf"`);
    return null;
  }
  bounds.sort((a, b) => a.le - b.le);
  for (let i = 1; i < bounds.length; i++) {
    if (bounds[i].n < bounds[i - 1].n) {
      errors.push(`${field}["${bounds[i].key}"] must not be below ${field}["${bounds[i - 1].key}"]: buckets are cumulative (requests that took at most the bound)`);
      return null;
    }
  }
  const top = bounds[bounds.length - 1].n;
  if (measured !== null && measured < top) {
    errors.push(`${field}["+Inf"] must not be below ${field}["${bounds[bounds.length - 1].key}"]`);
    return null;
  }
  if (measured === null) {
    if (total !== null && top > total) {
      errors.push(`${field}["${bounds[bounds.length - 1].key}"]: ${top} requests must not exceed total (${total})`);
      return null;
    }
    measured = total ?? top;
  }
  if (total !== null && measured > total) {
    errors.push(`${field}["+Inf"]: ${measured} requests measured must not exceed total (${total})`);
    return null;
  }
  const buckets: Record<string, number> = {};
  let below = 0;
  for (const b of bounds) {
    if (b.n > below) buckets[b.key] = b.n - below;
    below = b.n;
  }
  return { measured, buckets };
}

function name(v: unknown, field: string, errors: string[], required: boolean): string | null {
  if (v === undefined) {
    if (required) errors.push(`${field} is required`);
    return null;
  }
  if (typeof v === 'string' && NAME_PATTERN.test(v)) return v;
  errors.push(`${field} must match ${NAME_PATTERN.source} (lowercase letters, digits, . _ -; at most 63)`);
  return null;
}

function count(v: unknown, field: string, errors: string[], required: boolean): number | null {
  if (v === undefined) {
    if (required) errors.push(`${field} is required`);
    return null;
  }
  if (isInt(v) && v >= 0 && v <= MAX_COUNT) return v;
  errors.push(`${field} must be a non-negative integer`);
  return null;
}

function latency(v: unknown, field: string, errors: string[]): number | null {
  if (v === undefined) return null;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_LATENCY_MS) return v;
  errors.push(`${field} must be a number of milliseconds from 0 to ${MAX_LATENCY_MS}`);
  return null;
}

function boundedMap(v: unknown, field: string, errors: string[]): [string, unknown][] | null {
  if (!isObject(v)) {
    errors.push(`${field} must be an object`);
    return null;
  }
  const entries = Object.entries(v);
  if (entries.length > MAX_MAP_ENTRIES) {
    errors.push(`${field} must have at most ${MAX_MAP_ENTRIES} entries`);
    return null;
  }
  return entries;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
