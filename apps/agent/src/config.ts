import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_LATENCY_BUCKETS_MS } from './metrics-aggregator.js';

/**
 * The agent's configuration: a file (YAML or JSON), then environment
 * variables, then command-line flags, each overriding the one before. Every
 * problem is reported at once, each naming the setting, where it came from
 * and what is expected (`ninefold-agent check-config` prints them).
 */
export interface AgentConfig {
  /** Base URL of the control plane, e.g. https://ninefold.example.com */
  url: string;
  key: string;
  /** This host's instance id (default: the hostname, made a valid name). */
  instance: string;
  zone?: string;
  region?: string;
  /** Address the control plane and probers reach this host at. */
  address?: string;
  services: ServiceConfig[];
  intake: IntakeConfig;
  prober: ProberConfig;
  buffer: { maxEntries: number };
  gossip: GossipConfig;
  deregisterOnExit: boolean;
  /** Longest a request to the control plane may take. */
  requestTimeoutMs: number;
  logLevel: LogLevel;
}

export interface ServiceConfig {
  name: string;
  intervalSeconds: number;
  port?: number;
  checks: LocalCheck[];
}

export interface LocalCheck {
  type: 'http' | 'tcp';
  /** http(s)://host:port/path for http, host:port for tcp. */
  target: string;
  timeoutMs: number;
  expectStatus?: number;
  /** How a failing check marks the heartbeat. */
  onFail: 'down' | 'degraded';
}

export interface IntakeConfig {
  /** The local HTTP server always serves /healthz and /v1/status; this switches the application reports (/v1/calls, ...) off. */
  enabled: boolean;
  host: string;
  port: number;
  /** A dependency call slower than this counts as slow (the breaker policy's slowCallDurationMs). */
  slowCallDurationMs: number;
  /** A request slower than this counts as slow. */
  slowRequestDurationMs: number;
  /** Upper bounds (ms, ascending) of the latency buckets requests reported with a duration are counted in, for latency SLOs. */
  latencyBucketsMs: number[];
}

export interface ProberConfig {
  enabled: boolean;
  /** Long-poll wait, seconds. */
  waitSeconds: number;
  concurrency: number;
}

export interface GossipConfig {
  /** Seed peers, host:port. Gossip runs when there is at least one. */
  peers: string[];
  host: string;
  port: number;
  group: string;
  secret?: string;
  /** Full-state (push-pull) exchange period; rumours carry changes in between. 1 s suits small groups; use ~30 s beyond a few dozen agents. */
  syncIntervalSeconds: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const DEFAULT_INTAKE_PORT = 7070;
export const DEFAULT_GOSSIP_PORT = 7946;

/** Where a setting came from, for error messages. */
type Source = 'file' | 'env' | 'flag';

export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AgentConfigError';
  }
}

/** The flags a command line may carry (parsed by `node:util` parseArgs in main.ts). */
export interface ConfigFlags {
  config?: string;
  url?: string;
  key?: string;
  'key-file'?: string;
  instance?: string;
  zone?: string;
  region?: string;
  address?: string;
  service?: string[];
  /** Local checks given on the command line or in NINEFOLD_CHECKS: `service=http://…` or `service=tcp://host:port`. */
  check?: string[];
  interval?: string;
  'intake-port'?: string;
  'intake-host'?: string;
  'no-intake'?: boolean;
  prober?: boolean;
  peers?: string;
  'gossip-port'?: string;
  'gossip-host'?: string;
  'buffer-max'?: string;
  'deregister-on-exit'?: boolean;
  'log-level'?: string;
}

/** The environment variables the agent reads, and the flag each one matches. */
export const ENV_VARS: Record<string, string> = {
  NINEFOLD_CONFIG: 'config',
  NINEFOLD_URL: 'url',
  NINEFOLD_KEY: 'key',
  NINEFOLD_KEY_FILE: 'key-file',
  NINEFOLD_INSTANCE: 'instance',
  NINEFOLD_ZONE: 'zone',
  NINEFOLD_REGION: 'region',
  NINEFOLD_ADDRESS: 'address',
  NINEFOLD_SERVICES: 'service',
  NINEFOLD_CHECKS: 'check',
  NINEFOLD_INTERVAL_SECONDS: 'interval',
  NINEFOLD_INTAKE_PORT: 'intake-port',
  NINEFOLD_INTAKE_HOST: 'intake-host',
  NINEFOLD_PROBER: 'prober',
  NINEFOLD_PEERS: 'peers',
  NINEFOLD_GOSSIP_PORT: 'gossip-port',
  NINEFOLD_GOSSIP_HOST: 'gossip-host',
  NINEFOLD_BUFFER_MAX: 'buffer-max',
  NINEFOLD_DEREGISTER_ON_EXIT: 'deregister-on-exit',
  NINEFOLD_LOG_LEVEL: 'log-level',
};

const TOP_KEYS = ['url', 'key', 'keyFile', 'instance', 'zone', 'region', 'address', 'services', 'intake', 'prober', 'buffer', 'gossip', 'deregisterOnExit', 'requestTimeoutMs', 'logLevel'];
const SERVICE_KEYS = ['name', 'intervalSeconds', 'port', 'checks'];
const CHECK_KEYS = ['type', 'target', 'timeoutMs', 'expectStatus', 'onFail'];
const INTAKE_KEYS = ['enabled', 'host', 'port', 'slowCallDurationMs', 'slowRequestDurationMs', 'latencyBucketsMs'];
const PROBER_KEYS = ['enabled', 'waitSeconds', 'concurrency'];
const BUFFER_KEYS = ['maxEntries'];
const GOSSIP_KEYS = ['peers', 'host', 'port', 'group', 'secret', 'syncIntervalSeconds'];

/**
 * Reads the file named by `--config` (or NINEFOLD_CONFIG), applies the
 * environment and the flags over it, and validates the result.
 */
export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, hostname = os.hostname()): AgentConfig {
  const problems: string[] = [];
  const fromEnv = envFlags(env, problems);
  const file = flags.config ?? fromEnv.config;
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    const read = readConfigFile(file);
    // Without its file the rest of the configuration cannot be judged: say only that.
    if ('error' in read) throw new AgentConfigError([read.error]);
    raw = read.value;
  }
  const cfg = resolveConfig(raw, fromEnv, flags, hostname, problems);
  if (problems.length > 0) throw new AgentConfigError(problems);
  return cfg;
}

function readConfigFile(file: string): { value: Record<string, unknown> } | { error: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `config file ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  let value: unknown;
  try {
    // YAML is a superset of JSON, but JSON's own parser gives the better message for a .json file.
    value = path.extname(file) === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    return { error: `config file ${file}: not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0].replace(/:$/, '')}` };
  }
  if (value === null || value === undefined) return { value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) return { error: `config file ${file}: must hold a mapping of settings (url, key, services, ...)` };
  return { value: value as Record<string, unknown> };
}

/** Environment variables as flags (same names and meaning). */
function envFlags(env: NodeJS.ProcessEnv, problems: string[]): ConfigFlags {
  const out: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (flag === 'prober' || flag === 'deregister-on-exit') {
      const b = parseBool(v);
      if (b === undefined) problems.push(`${name}=${v} (env): must be true or false`);
      else out[flag] = b;
    } else if (flag === 'service' || flag === 'check') {
      out[flag] = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      out[flag] = v;
    }
  }
  return out as ConfigFlags;
}

function resolveConfig(file: Record<string, unknown>, env: ConfigFlags, flags: ConfigFlags, hostname: string, problems: string[]): AgentConfig {
  unknownKeys(file, TOP_KEYS, '', problems);
  // Later layers override earlier ones, setting by setting.
  const pick = <T>(fileKey: string, flag: keyof ConfigFlags): { value: T | undefined; source: Source; name: string } => {
    if (flags[flag] !== undefined) return { value: flags[flag] as T, source: 'flag', name: `--${flag}` };
    if (env[flag] !== undefined) return { value: env[flag] as T, source: 'env', name: envName(flag) };
    return { value: file[fileKey] as T, source: 'file', name: fileKey };
  };
  const where = (p: { source: Source; name: string }) => (p.source === 'file' ? `${p.name} (config file)` : `${p.name} (${p.source === 'env' ? 'environment' : 'command line'})`);

  const url = pick<string>('url', 'url');
  let urlValue = '';
  if (url.value === undefined) problems.push('url: missing; set url in the config file, NINEFOLD_URL or --url (e.g. https://ninefold.example.com)');
  else if (typeof url.value !== 'string' || !isHttpUrl(url.value)) problems.push(`${where(url)}: must be an http:// or https:// URL, got ${JSON.stringify(url.value)}`);
  else urlValue = url.value.replace(/\/+$/, '');

  // The key and the key file are one setting: the first layer that gives either wins.
  let keyValue = '';
  const keyLayers = [
    { key: flags.key, file: flags['key-file'], keyName: '--key (command line)', fileName: '--key-file (command line)' },
    { key: env.key, file: env['key-file'], keyName: 'NINEFOLD_KEY (environment)', fileName: 'NINEFOLD_KEY_FILE (environment)' },
    { key: file.key, file: file.keyFile, keyName: 'key (config file)', fileName: 'keyFile (config file)' },
  ];
  const keyLayer = keyLayers.find((l) => l.key !== undefined || l.file !== undefined);
  if (!keyLayer) {
    problems.push('key: missing; set key (or keyFile) in the config file, NINEFOLD_KEY (or NINEFOLD_KEY_FILE) or --key (an API key with the agent role)');
  } else if (keyLayer.key !== undefined) {
    if (typeof keyLayer.key !== 'string' || keyLayer.key.trim() === '') problems.push(`${keyLayer.keyName}: must be a non-empty API key`);
    else keyValue = keyLayer.key.trim();
  } else {
    const keyPath = String(keyLayer.file);
    try {
      keyValue = fs.readFileSync(keyPath, 'utf8').trim();
      if (!keyValue) problems.push(`${keyLayer.fileName}: the file ${keyPath} is empty`);
    } catch (err) {
      problems.push(`${keyLayer.fileName}: cannot read ${keyPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  const instance = pick<string>('instance', 'instance');
  const instanceValue = instance.value === undefined ? nameFromHostname(hostname) : String(instance.value);
  if (!NAME_PATTERN.test(instanceValue)) {
    problems.push(instance.value === undefined ? `instance: the hostname ${JSON.stringify(hostname)} does not make a valid instance id; set instance, NINEFOLD_INSTANCE or --instance` : `${where(instance)}: ${nameRule(instanceValue)}`);
  }

  const optionalName = (fileKey: string, flag: keyof ConfigFlags): string | undefined => {
    const p = pick<unknown>(fileKey, flag);
    if (p.value === undefined) return undefined;
    if (typeof p.value !== 'string' || !NAME_PATTERN.test(p.value)) {
      problems.push(`${where(p)}: ${nameRule(String(p.value))}`);
      return undefined;
    }
    return p.value;
  };
  const zone = optionalName('zone', 'zone');
  const region = optionalName('region', 'region');
  const address = pick<unknown>('address', 'address');
  if (address.value !== undefined && (typeof address.value !== 'string' || address.value.length === 0 || address.value.length > 255)) {
    problems.push(`${where(address)}: must be a host name or IP address`);
  }

  const interval = pick<unknown>('-', 'interval');
  const defaultInterval = interval.value === undefined ? 10 : intIn(interval.value, 1, 3600, where(interval), problems) ?? 10;
  const services = resolveServices(file.services, flags.service ?? env.service, flags.service !== undefined ? '--service (command line)' : 'NINEFOLD_SERVICES (environment)', defaultInterval, problems);
  addFlagChecks(services, flags.check ?? env.check, flags.check !== undefined ? '--check (command line)' : 'NINEFOLD_CHECKS (environment)', problems);

  const intakeFile = section(file.intake, 'intake', INTAKE_KEYS, problems);
  const intakePort = pick<unknown>('-', 'intake-port');
  const intakeHost = pick<unknown>('-', 'intake-host');
  const intake: IntakeConfig = {
    enabled: flags['no-intake'] ? false : boolIn(intakeFile.enabled, 'intake.enabled (config file)', problems) ?? true,
    host: typeof intakeHost.value === 'string' ? intakeHost.value : strIn(intakeFile.host, 'intake.host (config file)', problems) ?? '127.0.0.1',
    port: intakePort.value !== undefined ? intIn(intakePort.value, 0, 65535, where(intakePort), problems) ?? DEFAULT_INTAKE_PORT : intIn(intakeFile.port, 0, 65535, 'intake.port (config file)', problems) ?? DEFAULT_INTAKE_PORT,
    slowCallDurationMs: intIn(intakeFile.slowCallDurationMs, 1, 3_600_000, 'intake.slowCallDurationMs (config file)', problems) ?? 200,
    slowRequestDurationMs: intIn(intakeFile.slowRequestDurationMs, 1, 3_600_000, 'intake.slowRequestDurationMs (config file)', problems) ?? 1000,
    latencyBucketsMs: boundsIn(intakeFile.latencyBucketsMs, 'intake.latencyBucketsMs (config file)', problems) ?? DEFAULT_LATENCY_BUCKETS_MS,
  };

  const proberFile = section(file.prober, 'prober', PROBER_KEYS, problems);
  const proberFlag = pick<unknown>('-', 'prober');
  const prober: ProberConfig = {
    enabled: proberFlag.value !== undefined ? proberFlag.value === true : boolIn(proberFile.enabled, 'prober.enabled (config file)', problems) ?? false,
    waitSeconds: intIn(proberFile.waitSeconds, 1, 60, 'prober.waitSeconds (config file)', problems) ?? 20,
    concurrency: intIn(proberFile.concurrency, 1, 100, 'prober.concurrency (config file)', problems) ?? 10,
  };

  const bufferFile = section(file.buffer, 'buffer', BUFFER_KEYS, problems);
  const bufferMax = pick<unknown>('-', 'buffer-max');
  const buffer = {
    maxEntries: bufferMax.value !== undefined ? intIn(bufferMax.value, 1, 10_000_000, where(bufferMax), problems) ?? 10_000 : intIn(bufferFile.maxEntries, 1, 10_000_000, 'buffer.maxEntries (config file)', problems) ?? 10_000,
  };

  const gossipFile = section(file.gossip, 'gossip', GOSSIP_KEYS, problems);
  const peersFlag = pick<unknown>('-', 'peers');
  let peers: string[] = [];
  if (peersFlag.value !== undefined) peers = String(peersFlag.value).split(',').map((s) => s.trim()).filter(Boolean);
  else if (gossipFile.peers !== undefined) {
    if (!Array.isArray(gossipFile.peers)) problems.push('gossip.peers (config file): must be a list of host:port');
    else peers = gossipFile.peers.map(String);
  }
  peers.forEach((p, i) => {
    if (!isHostPort(p)) problems.push(`${peersFlag.value !== undefined ? where(peersFlag) : `gossip.peers[${i}] (config file)`}: ${JSON.stringify(p)} must be host:port`);
  });
  const gossipPort = pick<unknown>('-', 'gossip-port');
  const gossipHost = pick<unknown>('-', 'gossip-host');
  const gossip: GossipConfig = {
    peers,
    host: typeof gossipHost.value === 'string' ? gossipHost.value : strIn(gossipFile.host, 'gossip.host (config file)', problems) ?? '0.0.0.0',
    port: gossipPort.value !== undefined ? intIn(gossipPort.value, 0, 65535, where(gossipPort), problems) ?? DEFAULT_GOSSIP_PORT : intIn(gossipFile.port, 0, 65535, 'gossip.port (config file)', problems) ?? DEFAULT_GOSSIP_PORT,
    group: strIn(gossipFile.group, 'gossip.group (config file)', problems) ?? 'default',
    syncIntervalSeconds: intIn(gossipFile.syncIntervalSeconds, 1, 600, 'gossip.syncIntervalSeconds (config file)', problems) ?? 1,
    ...(gossipFile.secret !== undefined ? { secret: strIn(gossipFile.secret, 'gossip.secret (config file)', problems) } : {}),
  };

  const dereg = pick<unknown>('deregisterOnExit', 'deregister-on-exit');
  const logLevel = pick<unknown>('logLevel', 'log-level');
  if (logLevel.value !== undefined && !['debug', 'info', 'warn', 'error'].includes(String(logLevel.value))) problems.push(`${where(logLevel)}: must be one of debug, info, warn, error`);

  if (services.length === 0 && !prober.enabled) {
    problems.push('services: none configured and not a prober; list at least one service (services in the config file, NINEFOLD_SERVICES or --service name[:port]) or run with --prober');
  }

  return {
    url: urlValue,
    key: keyValue,
    instance: instanceValue,
    ...(zone ? { zone } : {}),
    ...(region ? { region } : {}),
    ...(typeof address.value === 'string' ? { address: address.value } : {}),
    services,
    intake,
    prober,
    buffer,
    gossip,
    deregisterOnExit: dereg.value === undefined ? false : typeof dereg.value === 'boolean' ? dereg.value : (boolIn(dereg.value, where(dereg), problems) ?? false),
    requestTimeoutMs: intIn(file.requestTimeoutMs, 100, 300_000, 'requestTimeoutMs (config file)', problems) ?? 10_000,
    logLevel: (logLevel.value as LogLevel | undefined) ?? 'info',
  };
}

function resolveServices(fromFile: unknown, fromFlags: string[] | undefined, flagName: string, defaultInterval: number, problems: string[]): ServiceConfig[] {
  if (fromFlags !== undefined && fromFlags.length > 0) {
    // --service web:8080 (repeatable) or NINEFOLD_SERVICES=web:8080,api
    const seen = new Set<string>();
    return fromFlags.map((spec) => {
      const [name, port] = spec.split(':');
      if (!NAME_PATTERN.test(name)) problems.push(`${flagName}: ${JSON.stringify(spec)}: ${nameRule(name)}`);
      else if (seen.has(name)) problems.push(`${flagName}: ${name} is listed twice`);
      seen.add(name);
      const svc: ServiceConfig = { name, intervalSeconds: defaultInterval, checks: [] };
      if (port !== undefined) {
        const p = intIn(port, 1, 65535, `${flagName}: port of ${name}`, problems);
        if (p !== undefined) svc.port = p;
      }
      return svc;
    });
  }
  if (fromFile === undefined) return [];
  if (!Array.isArray(fromFile)) {
    problems.push('services (config file): must be a list of services, e.g. [{ name: web, port: 8080 }]');
    return [];
  }
  const seen = new Set<string>();
  return fromFile.map((item: unknown, i): ServiceConfig => {
    const at = `services[${i}]`;
    if (typeof item === 'string') item = { name: item };
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${at} (config file): must be a mapping with at least a name`);
      return { name: '', intervalSeconds: defaultInterval, checks: [] };
    }
    const s = item as Record<string, unknown>;
    unknownKeys(s, SERVICE_KEYS, `${at}.`, problems);
    const name = typeof s.name === 'string' ? s.name : '';
    if (!NAME_PATTERN.test(name)) problems.push(`${at}.name (config file): ${s.name === undefined ? 'missing' : nameRule(String(s.name))}`);
    else if (seen.has(name)) problems.push(`${at}.name (config file): ${name} is listed twice`);
    seen.add(name);
    const svc: ServiceConfig = {
      name,
      intervalSeconds: intIn(s.intervalSeconds, 1, 3600, `${at}.intervalSeconds (config file)`, problems) ?? defaultInterval,
      checks: [],
    };
    const port = intIn(s.port, 1, 65535, `${at}.port (config file)`, problems);
    if (port !== undefined) svc.port = port;
    if (s.checks !== undefined) {
      if (!Array.isArray(s.checks)) problems.push(`${at}.checks (config file): must be a list`);
      else svc.checks = s.checks.map((c: unknown, j) => resolveCheck(c, `${at}.checks[${j}]`, svc.intervalSeconds, problems));
    }
    return svc;
  });
}

/**
 * `--check` / NINEFOLD_CHECKS entries, `service=http(s)://…` or `service=tcp://host:port`,
 * added to their service's checks with the file's defaults (timeout 2 s or half the
 * interval, down on failure).
 */
function addFlagChecks(services: ServiceConfig[], specs: string[] | undefined, flagName: string, problems: string[]): void {
  for (const spec of specs ?? []) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? '' : spec.slice(0, eq);
    const target = spec.slice(eq + 1);
    const svc = services.find((s) => s.name === name);
    if (!svc) {
      problems.push(eq < 0 ? `${flagName}: ${JSON.stringify(spec)} must name its service, e.g. web=http://127.0.0.1:8080/healthz` : `${flagName}: ${JSON.stringify(spec)} is for ${name}, which is not among the services`);
      continue;
    }
    const tcp = /^tcp:\/\/(.+)$/.exec(target);
    const check: LocalCheck = { type: tcp ? 'tcp' : 'http', target: tcp ? tcp[1].replace(/\/$/, '') : target, timeoutMs: Math.min(2000, svc.intervalSeconds * 500), onFail: 'down' };
    if (check.type === 'http' ? !isHttpUrl(check.target) : !isHostPort(check.target)) {
      problems.push(`${flagName}: ${JSON.stringify(target)} must be an http:// or https:// URL, or tcp://host:port`);
      continue;
    }
    svc.checks.push(check);
  }
}

function resolveCheck(item: unknown, at: string, intervalSeconds: number, problems: string[]): LocalCheck {
  const check: LocalCheck = { type: 'tcp', target: '', timeoutMs: 2000, onFail: 'down' };
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    problems.push(`${at} (config file): must be a mapping { type, target, ... }`);
    return check;
  }
  const c = item as Record<string, unknown>;
  unknownKeys(c, CHECK_KEYS, `${at}.`, problems);
  if (c.type !== 'http' && c.type !== 'tcp') problems.push(`${at}.type (config file): must be http or tcp${c.type === undefined ? '' : `, got ${JSON.stringify(c.type)}`}`);
  else check.type = c.type;
  if (typeof c.target !== 'string') problems.push(`${at}.target (config file): missing; ${check.type === 'http' ? 'an http(s):// URL' : 'host:port'}`);
  else if (check.type === 'http' && !isHttpUrl(c.target)) problems.push(`${at}.target (config file): an http check needs an http:// or https:// URL, got ${JSON.stringify(c.target)}`);
  else if (check.type === 'tcp' && !isHostPort(c.target)) problems.push(`${at}.target (config file): a tcp check needs host:port, got ${JSON.stringify(c.target)}`);
  else check.target = c.target;
  // A check must finish before the next heartbeat is due.
  check.timeoutMs = intIn(c.timeoutMs, 50, intervalSeconds * 1000, `${at}.timeoutMs (config file)`, problems) ?? Math.min(2000, intervalSeconds * 500);
  const expect = intIn(c.expectStatus, 100, 599, `${at}.expectStatus (config file)`, problems);
  if (expect !== undefined) check.expectStatus = expect;
  if (c.onFail !== undefined && c.onFail !== 'down' && c.onFail !== 'degraded') problems.push(`${at}.onFail (config file): must be down or degraded`);
  else if (c.onFail !== undefined) check.onFail = c.onFail;
  return check;
}

function section(value: unknown, name: string, keys: string[], problems: string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${name} (config file): must be a mapping`);
    return {};
  }
  unknownKeys(value as Record<string, unknown>, keys, `${name}.`, problems);
  return value as Record<string, unknown>;
}

function unknownKeys(obj: Record<string, unknown>, known: string[], prefix: string, problems: string[]): void {
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const close = closest(k, known, 2);
    problems.push(`${prefix}${k} (config file): unknown setting${close ? `; did you mean ${prefix}${close}?` : `; known: ${known.join(', ')}`}`);
  }
}

/** Latency bucket bounds: 1 to 64 distinct numbers of ms above 0 and at most 3,600,000, with at most 3 decimals; sorted. */
function boundsIn(v: unknown, name: string, problems: string[]): number[] | undefined {
  if (v === undefined) return undefined;
  const ok = (b: unknown) => typeof b === 'number' && b > 0 && b <= 3_600_000 && Math.round(b * 1000) / 1000 === b;
  if (!Array.isArray(v) || v.length === 0 || v.length > 64 || !v.every(ok) || new Set(v).size !== v.length) {
    problems.push(`${name}: must be a list of 1 to 64 distinct upper bounds in ms (above 0, at most 3600000, at most 3 decimals), e.g. [50, 100, 250, 500, 1000]`);
    return undefined;
  }
  return [...(v as number[])].sort((a, b) => a - b);
}

function intIn(v: unknown, min: number, max: number, name: string, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return n;
}

function boolIn(v: unknown, name: string, problems: string[]): boolean | undefined {
  if (v === undefined) return undefined;
  const b = typeof v === 'boolean' ? v : typeof v === 'string' ? parseBool(v) : undefined;
  if (b === undefined) problems.push(`${name}: must be true or false, got ${JSON.stringify(v)}`);
  return b;
}

function strIn(v: unknown, name: string, problems: string[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') {
    problems.push(`${name}: must be a non-empty string`);
    return undefined;
  }
  return v;
}

function parseBool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return undefined;
}

function envName(flag: keyof ConfigFlags): string {
  return Object.entries(ENV_VARS).find(([, f]) => f === flag)?.[0] ?? flag;
}

function nameRule(value: string): string {
  return `${JSON.stringify(value)} is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`;
}

/** `web-01.example.com` → `web-01.example.com`; `WEB_01` → `web_01`; anything else made valid if it can be. */
export function nameFromHostname(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function isHostPort(s: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** The known name nearest to `name`, if one is within `maxDistance` edits (case ignored). */
export function closest(name: string, known: readonly string[], maxDistance: number): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const k of known) {
    const d = editDistance(k.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}
