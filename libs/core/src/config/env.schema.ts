import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, validateSync } from 'class-validator';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toFloat = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * Every environment variable Ninefold reads. Read once at start-up by
 * {@link loadConfig}; nothing else touches `process.env`.
 */
export class EnvironmentVariables {
  /** HTTP port of the api. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  /** Interface the api listens on. */
  @IsOptional() @IsString()
  HOST = '0.0.0.0';

  /** PostgreSQL connection string. */
  @IsString() @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL!: string;

  /** Redis connection string. */
  @IsString() @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL!: string;

  /** Namespace of every Redis key and channel Ninefold uses, so several installations can share one Redis. */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'NINEFOLD_REDIS_PREFIX must be 1-64 characters of letters, digits, _ . : -' })
  NINEFOLD_REDIS_PREFIX = 'nf';

  /** Admin key to create on first start instead of a random one. */
  @IsOptional() @IsString() @MinLength(24, { message: 'NINEFOLD_ADMIN_KEY must be at least 24 characters' }) @MaxLength(256)
  NINEFOLD_ADMIN_KEY?: string;

  @IsOptional() @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /** Log every HTTP request (one line each) at info level. */
  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'LOG_REQUESTS must be true or false' })
  LOG_REQUESTS = true;

  /**
   * Also export `ninefold_instance_up{service,instance_id}` on the api's /metrics: one series per instance,
   * so off by default (100,000 instances are 100,000 series); the per-state counts are always there.
   */
  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'METRICS_INSTANCE_SERIES must be true or false' })
  METRICS_INSTANCE_SERIES = false;

  /**
   * Longest a Redis command may wait for its answer (a stalled Redis keeps connections open and answers nothing):
   * past it the command fails, and a request that needed it gets 503 with Retry-After instead of hanging.
   * Blocking stream reads are exempt (they wait by design, a second at a time).
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(60_000)
  REDIS_COMMAND_TIMEOUT_MS = 5000;

  /** Largest accepted request body. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  /** Apply pending database migrations at start-up (under an advisory lock, so replicas may start together). */
  @IsOptional() @Transform(toBool) @IsBoolean({ message: 'NINEFOLD_MIGRATE_ON_START must be true or false' })
  NINEFOLD_MIGRATE_ON_START = true;

  /** How long a verified API key is trusted from memory before it is looked up again. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  KEY_CACHE_TTL_SECONDS = 60;

  /** How often the last-used times of API keys are written to the database. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  KEY_LAST_USED_FLUSH_SECONDS = 30;

  /** Lease time of a leader (singleton work); another replica takes over at most this long after the leader dies. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(60_000)
  LEADER_LEASE_MS = 5000;

  /** Ingest stream entries (accepted requests; several share one when they arrive together) waiting for a worker, beyond which new heartbeats get 503 (protects Redis memory while workers are down). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1000) @Max(100_000_000)
  INGEST_BACKLOG_MAX = 1_000_000;

  /** How long a worker trusts its in-memory copy of an instance's registration before reading it again (while Postgres is down, it keeps using what it has). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  INGEST_INSTANCE_CACHE_SECONDS = 60;

  /** How long a worker's unfinished stream entries (heartbeats, state changes) sit idle before another worker takes them over: how soon a dead worker's work is redone. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(3600)
  WORKER_TAKEOVER_SECONDS = 30;

  /** How long raw heartbeats are kept in Postgres (rollups and state history are kept longer). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(24 * 365)
  HEARTBEAT_RETENTION_HOURS = 48;

  /** How long per-minute rollups (requests, dependencies, rate limits) are kept: SLO windows of up to an hour and the current hour read them. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(24 * 90)
  ROLLUP_MINUTE_RETENTION_HOURS = 48;

  /** How long per-hour request and availability rollups are kept: SLO windows from an hour to three days (and today's part of longer ones) read them. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(4) @Max(3650)
  ROLLUP_HOUR_RETENTION_DAYS = 8;

  /** How long per-day request and availability rollups are kept: SLO windows longer than three days, burn-downs and availability reports read them. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(31) @Max(3650)
  ROLLUP_DAY_RETENTION_DAYS = 400;

  /** How often the leader's failure-detection sweep looks for overdue instances. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(50) @Max(5000)
  DETECTOR_SWEEP_MS = 250;

  /** A sweep later than this after the previous one means the control plane was not looking: overdue deadlines are extended by the gap. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(500) @Max(600_000)
  DETECTOR_GAP_TOLERANCE_MS = 2000;

  /**
   * After Ninefold itself was away (a restart, a leader change, no api receiving heartbeats), deadlines that fell in
   * the gap are extended by the gap and by this much more: the time agents need to find the control plane again and
   * deliver what they buffered. A truly silent instance is found that much later after such a gap.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600)
  DETECTOR_RETURN_ALLOWANCE_SECONDS = 5;

  /** When more than this share of all instances go silent within one second, Ninefold suspects its own ingress and holds them at SUSPECT. */
  @IsOptional() @Transform(toFloat) @IsNumber() @Min(0.05) @Max(1)
  DETECTOR_MASS_SILENCE_SHARE = 0.5;

  /** The mass-silence guard applies from this many monitored instances up (small fleets can really all fail at once). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(2) @Max(1_000_000)
  DETECTOR_MASS_SILENCE_MIN_INSTANCES = 10;

  /** How long instances are held at SUSPECT after a mass silence before ordinary detection resumes. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  DETECTOR_MASS_SILENCE_HOLD_SECONDS = 60;

  /** Timeout a prober gets to reach a silent instance during quorum confirmation. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) @Max(30_000)
  PROBE_TIMEOUT_MS = 2000;

  /** A consensus cluster (members reporting role/term) without a live leader for this long raises "no leader". */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  CLUSTER_NO_LEADER_SECONDS = 15;

  /** More elections than this within CLUSTER_CHURN_WINDOW_SECONDS raise "leader churn". */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  CLUSTER_CHURN_MAX = 3;

  @IsOptional() @Transform(toInt) @IsInt() @Min(10) @Max(86_400)
  CLUSTER_CHURN_WINDOW_SECONDS = 600;

  /** Self-registered instances DOWN for longer than this are removed (like Consul's deregister_critical_service_after). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(365 * 24 * 3600)
  DEREGISTER_AFTER_SECONDS = 24 * 3600;

  /** How often the leader evaluates every SLO (alerts, budgets on the overview, slo.update events). */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  SLO_EVALUATION_SECONDS = 30;

  /** Port of the worker's Prometheus endpoint (GET /metrics); 0 turns it off. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  WORKER_METRICS_PORT = 9465;

  /** Interface the worker's metrics endpoint listens on (default: HOST). */
  @IsOptional() @IsString()
  WORKER_METRICS_HOST?: string;

  /** Port of the DNS interface (UDP and TCP) on the api; 0 turns it off. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  DNS_PORT = 8600;

  /** Interface the DNS server listens on (default: HOST). */
  @IsOptional() @IsString()
  DNS_HOST?: string;

  /** Domain the DNS interface answers for: <service>.service.<domain>. */
  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9.-]{0,62}$/, { message: 'DNS_DOMAIN must be a lowercase domain name such as ninefold' })
  DNS_DOMAIN = 'ninefold';

  /** TTL of DNS answers; 0 (like Consul) makes failover visible to clients at once. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(86_400)
  DNS_TTL_SECONDS = 0;

  /** Heading of the public status page (`/status`, `GET /api/v1/status`). */
  @IsOptional() @IsString() @MaxLength(200, { message: 'NINEFOLD_STATUS_TITLE must be at most 200 characters' })
  NINEFOLD_STATUS_TITLE = 'Service status';

  /** Live connections the public status page's socket.io namespace takes per api replica (it needs no key); visitors over it are refused and the page polls instead. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000)
  STATUS_WS_MAX_CONNECTIONS = 10_000;

  /** The same per client address (X-Forwarded-For's first entry behind a proxy): one visitor, or a script, cannot take them all. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(100_000)
  STATUS_WS_MAX_PER_ADDRESS = 20;

  /** Seconds allowed for in-flight work to finish on SIGTERM. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(600)
  SHUTDOWN_GRACE_SECONDS = 10;
}

export type NinefoldConfig = Readonly<EnvironmentVariables>;

/** Thrown at start-up when the environment is wrong; its message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment and returns typed configuration.
 * Empty strings count as unset, so `PORT=` falls back to the default.
 */
export function loadConfig(env: Record<string, string | undefined>): NinefoldConfig {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') raw[k] = v;
  const config = plainToInstance(EnvironmentVariables, raw, { excludeExtraneousValues: false });
  const errors = validateSync(config, { whitelist: false, skipMissingProperties: false });
  if (errors.length > 0) {
    const problems = errors.map((e) => {
      const shown = e.property === 'DATABASE_URL' || e.property === 'REDIS_URL' || e.property.endsWith('_KEY') ? '(hidden)' : JSON.stringify(e.value);
      const why = Object.values(e.constraints ?? {}).join('; ');
      return `${e.property}=${e.value === undefined ? '(unset)' : shown}: ${why}`;
    });
    throw new ConfigError(problems);
  }
  // Keep only our own keys: the rest of the environment is not configuration.
  const own = new EnvironmentVariables();
  for (const key of Object.keys(own) as (keyof EnvironmentVariables)[]) {
    (own as unknown as Record<string, unknown>)[key] = config[key];
  }
  own.DATABASE_URL = config.DATABASE_URL;
  own.REDIS_URL = config.REDIS_URL;
  own.NINEFOLD_ADMIN_KEY = config.NINEFOLD_ADMIN_KEY;
  return Object.freeze(own);
}
