import type http from 'node:http';
import { JsonHttpServer, readBody, sendJson } from './local-http.js';
import type { Logger } from './logger.js';
import type { MetricsAggregator } from './metrics-aggregator.js';
import { DEPENDENCY_PATTERN, MAX_BATCH, MAX_LATENCY_BUCKETS, MAX_LATENCY_MS } from './wire.js';

const BODY_LIMIT = 1024 * 1024;
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** What the intake needs from the rest of the agent. */
export interface IntakeDeps {
  aggregator: MetricsAggregator;
  /** false: only /healthz, /v1/status and /v1/breakers are served (intake.enabled: false). */
  reports: boolean;
  /** Services this agent reports; a report without `service` goes to the first. */
  services: string[];
  /** The agent's status (GET /v1/status, `ninefold-agent status`). */
  status: () => unknown;
  /** Breaker states for the client library (GET /v1/breakers). */
  breakers: (service: string) => unknown;
  /** Asks a rate-limit policy of the control plane (POST /v1/ratelimits/:policy/check). */
  rateLimitCheck?: (policy: string, body: unknown) => Promise<{ status: number; body: unknown }>;
  log: Logger;
}

class BadRequest extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * The agent's local HTTP intake, on 127.0.0.1 by default: applications on
 * this host report their dependency calls and request outcomes here (the
 * client library does it for them) and read breaker states; operators and
 * `ninefold-agent status` read `/healthz` and `/v1/status`.
 *
 *   POST /v1/calls         { dependency, ok, durationMs?, service? }
 *                          or counts { dependency, calls, failures?, slowCalls?, service? }
 *                          or { calls: [ ...either... ] }
 *   POST /v1/requests      { ok, durationMs?, service? } or { total, errors?, slow?, latencyMs?, service? }
 *                          or { requests: [ ... ] }   (latencyMs: cumulative buckets, as in heartbeats)
 *   POST /v1/rate-limited  { policy, count?, service? }
 *   GET  /v1/breakers?service=   breaker states as the control plane last said
 *   POST /v1/ratelimits/:policy/check  { key, cost? }: asked of the control plane with the agent's key
 *   GET  /v1/status, GET /healthz
 */
export class IntakeServer {
  private readonly http: JsonHttpServer;

  constructor(private readonly deps: IntakeDeps) {
    this.http = new JsonHttpServer('intake', (req, res) => this.handle(req, res), deps.log);
  }

  listen(host: string, port: number): Promise<number> {
    return this.http.listen(host, port);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://intake');
    const route = `${req.method} ${url.pathname}`;
    const limit = /^\/v1\/ratelimits\/([^/]+)\/check$/.exec(url.pathname);
    if (limit && req.method === 'POST' && this.deps.rateLimitCheck) {
      const body = await readJson(req, res);
      if (body === undefined) return;
      const answer = await this.deps.rateLimitCheck(decodeURIComponent(limit[1]), body);
      return sendJson(res, answer.status, answer.body);
    }
    switch (route) {
      case 'GET /healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'GET /v1/status':
        return sendJson(res, 200, this.deps.status());
      case 'GET /v1/breakers': {
        const service = url.searchParams.get('service') ?? this.deps.services[0];
        return sendJson(res, 200, this.deps.breakers(service));
      }
      case 'POST /v1/calls':
      case 'POST /v1/requests':
      case 'POST /v1/rate-limited':
        break;
      default: {
        const known = ['GET /healthz', 'GET /v1/status', 'GET /v1/breakers', 'POST /v1/calls', 'POST /v1/requests', 'POST /v1/rate-limited', 'POST /v1/ratelimits/:policy/check'];
        const samePath = known.filter((k) => k.endsWith(` ${url.pathname}`));
        return samePath.length > 0
          ? sendJson(res, 405, { error: `method ${req.method} not allowed; use ${samePath.map((k) => k.split(' ')[0]).join(' or ')}` })
          : sendJson(res, 404, { error: `no such endpoint; the intake serves ${known.join(', ')}` });
      }
    }
    if (!this.deps.reports) {
      req.resume();
      return sendJson(res, 404, { error: 'application reports are switched off on this agent (intake.enabled: false)' });
    }
    const body = await readJson(req, res);
    if (body === undefined) return;
    try {
      const recorded = route === 'POST /v1/calls' ? this.calls(body) : route === 'POST /v1/requests' ? this.requests(body) : this.rateLimited(body);
      sendJson(res, 202, { recorded });
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: 'invalid report', problems: err.problems });
      throw err;
    }
  }

  private calls(body: unknown): number {
    const items = listOf(body, 'calls');
    const problems: string[] = [];
    const valid = items.map((item, i) => {
      const at = items.length === 1 && !isList(body, 'calls') ? '' : `calls[${i}].`;
      if (!isObject(item)) {
        problems.push(`${at.replace(/\.$/, '') || 'body'} must be an object { dependency, ok, durationMs? } or { dependency, calls, failures?, slowCalls? }`);
        return null;
      }
      const service = this.service(item.service, `${at}service`, problems);
      if (typeof item.dependency !== 'string' || !DEPENDENCY_PATTERN.test(item.dependency)) problems.push(`${at}dependency must be a name like payments-api or db:5432 (letters, digits, . _ : / -; at most 128)`);
      if ('calls' in item) {
        const calls = count(item.calls, `${at}calls`, problems, true);
        const failures = count(item.failures, `${at}failures`, problems, false);
        const slowCalls = count(item.slowCalls, `${at}slowCalls`, problems, false);
        if (failures > calls) problems.push(`${at}failures must not exceed calls`);
        if (slowCalls > calls) problems.push(`${at}slowCalls must not exceed calls`);
        return { kind: 'counts' as const, service, dependency: item.dependency as string, calls, failures, slowCalls };
      }
      if (typeof item.ok !== 'boolean') problems.push(`${at}ok must be true or false`);
      const durationMs = duration(item.durationMs, `${at}durationMs`, problems);
      return { kind: 'call' as const, service, dependency: item.dependency as string, ok: item.ok === true, durationMs };
    });
    if (problems.length > 0) throw new BadRequest(problems);
    let recorded = 0;
    for (const c of valid) {
      if (!c) continue;
      const ok = c.kind === 'counts' ? this.deps.aggregator.addCalls(c.service, c.dependency, c) : this.deps.aggregator.recordCall(c.service, c.dependency, c.ok, c.durationMs);
      if (ok) recorded++;
    }
    return recorded;
  }

  private requests(body: unknown): number {
    const items = listOf(body, 'requests');
    const problems: string[] = [];
    const valid = items.map((item, i) => {
      const at = items.length === 1 && !isList(body, 'requests') ? '' : `requests[${i}].`;
      if (!isObject(item)) {
        problems.push(`${at.replace(/\.$/, '') || 'body'} must be an object { ok, durationMs? } or { total, errors?, slow?, latencyMs? }`);
        return null;
      }
      const service = this.service(item.service, `${at}service`, problems);
      if ('total' in item) {
        const total = count(item.total, `${at}total`, problems, true);
        const errors = count(item.errors, `${at}errors`, problems, false);
        const slow = count(item.slow, `${at}slow`, problems, false);
        if (errors > total) problems.push(`${at}errors must not exceed total`);
        if (slow > total) problems.push(`${at}slow must not exceed total`);
        const latency = item.latencyMs === undefined ? undefined : latencyBuckets(item.latencyMs, `${at}latencyMs`, total, problems);
        return { kind: 'counts' as const, service, total, errors, slow, latency };
      }
      if (typeof item.ok !== 'boolean') problems.push(`${at}ok must be true or false`);
      return { kind: 'one' as const, service, ok: item.ok === true, durationMs: duration(item.durationMs, `${at}durationMs`, problems) };
    });
    if (problems.length > 0) throw new BadRequest(problems);
    for (const r of valid) {
      if (!r) continue;
      if (r.kind === 'counts') this.deps.aggregator.addRequests(r.service, r);
      else this.deps.aggregator.recordRequest(r.service, r.ok, r.durationMs);
    }
    return valid.length;
  }

  private rateLimited(body: unknown): number {
    const problems: string[] = [];
    if (!isObject(body)) throw new BadRequest(['body must be an object { policy, count?, service? }']);
    const service = this.service(body.service, 'service', problems);
    if (typeof body.policy !== 'string' || !NAME_PATTERN.test(body.policy)) problems.push(`policy must be a rate-limit policy name (${NAME_PATTERN.source})`);
    const n = body.count === undefined ? 1 : count(body.count, 'count', problems, true);
    if (problems.length > 0) throw new BadRequest(problems);
    return this.deps.aggregator.recordRateLimited(service, body.policy as string, n) ? 1 : 0;
  }

  private service(v: unknown, field: string, problems: string[]): string {
    if (v === undefined) {
      if (this.deps.services.length === 0) problems.push(`${field} is required: this agent reports no services`);
      return this.deps.services[0] ?? '';
    }
    if (typeof v !== 'string' || !this.deps.services.includes(v)) {
      problems.push(`${field} must be one of the services this agent reports (${this.deps.services.join(', ') || 'none'}), got ${JSON.stringify(v)}`);
      return '';
    }
    return v;
  }
}

function listOf(body: unknown, key: string): unknown[] {
  if (isList(body, key)) {
    const list = (body as Record<string, unknown[]>)[key];
    if (list.length > MAX_BATCH) throw new BadRequest([`${key} must hold at most ${MAX_BATCH} reports (got ${list.length})`]);
    return list;
  }
  return [body];
}

function isList(body: unknown, key: string): boolean {
  return isObject(body) && Array.isArray(body[key]);
}

function count(v: unknown, field: string, problems: string[], required: boolean): number {
  if (v === undefined && !required) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1e12) {
    problems.push(`${field} must be a whole number ≥ 0`);
    return 0;
  }
  return v;
}

/**
 * Cumulative latency buckets `{ "<upper bound ms>": requests within it, …,
 * "+Inf"?: requests measured }` (as the control plane takes them), turned
 * into per-bucket counts.
 */
function latencyBuckets(v: unknown, field: string, total: number, problems: string[]): { measured: number; buckets: [number, number][] } | undefined {
  if (!isObject(v) || Object.keys(v).length === 0 || Object.keys(v).length > MAX_LATENCY_BUCKETS + 1) {
    problems.push(`${field} must be an object of 1 to ${MAX_LATENCY_BUCKETS} cumulative buckets { "<upper bound ms>": requests within it, "+Inf"?: requests measured }`);
    return undefined;
  }
  let measured: number | undefined;
  const bounds: [number, number][] = [];
  const before = problems.length;
  for (const [key, raw] of Object.entries(v)) {
    const n = count(raw, `${field}["${key}"]`, problems, true);
    if (key === '+Inf') measured = n;
    else if (/^\d{1,7}(\.\d{1,3})?$/.test(key) && Number(key) > 0 && Number(key) <= MAX_LATENCY_MS && !bounds.some(([le]) => le === Number(key))) bounds.push([Number(key), n]);
    else problems.push(`${field}: bucket "${key}" must be "+Inf" or a distinct upper bound in ms above 0 and at most ${MAX_LATENCY_MS} (at most 3 decimals)`);
  }
  if (problems.length > before) return undefined;
  bounds.sort((a, b) => a[0] - b[0]);
  const top = bounds.length > 0 ? bounds[bounds.length - 1][1] : 0;
  measured ??= total;
  if (bounds.some(([, n], i) => i > 0 && n < bounds[i - 1][1]) || top > measured || measured > total) {
    problems.push(`${field} must be cumulative: counts that never fall as bounds grow, at most "+Inf" (requests measured, default total), which is at most total`);
    return undefined;
  }
  return { measured, buckets: bounds.map(([le, n], i) => [le, n - (i > 0 ? bounds[i - 1][1] : 0)]) };
}

function duration(v: unknown, field: string, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 86_400_000) {
    problems.push(`${field} must be a number of milliseconds ≥ 0`);
    return undefined;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readJson(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    sendJson(res, 415, { error: 'send JSON with Content-Type: application/json' });
    req.resume();
    return undefined;
  }
  const body = await readBody(req, res, BODY_LIMIT);
  if (body === null) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    sendJson(res, 400, { error: `malformed JSON: ${(err as Error).message}` });
    return undefined;
  }
}

