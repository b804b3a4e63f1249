import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { IntakeServer } from './intake.server.js';
import type { Logger } from './logger.js';
import { MetricsAggregator } from './metrics-aggregator.js';

// The agent's local intake over real HTTP on 127.0.0.1 (an ephemeral port);
// no control plane, no database.

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** One request on its own connection; the body is sent as given (string/Buffer) or as JSON. */
function request(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const type = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? {} : { 'content-type': 'application/json' };
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: { ...type, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const STATUS = { version: '1.2.3', instance: 'web-01', push: { queued: 0, dropped: 0 }, services: [{ name: 'web' }] };

describe('IntakeServer (HTTP on 127.0.0.1)', () => {
  const aggregator = new MetricsAggregator({ slowCallDurationMs: 200, slowRequestDurationMs: 1000 });
  const intake = new IntakeServer({
    aggregator,
    reports: true,
    services: ['web', 'api'],
    status: () => STATUS,
    breakers: (service) => ({ service, items: [] }),
    log: silent,
  });
  let port = 0;
  const post = (path: string, body?: unknown, headers?: Record<string, string>) => request(port, 'POST', path, body, headers);
  const get = (path: string) => request(port, 'GET', path);

  beforeAll(async () => {
    port = await intake.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await intake.close();
  });

  it('listens on the port it was given (0: one the system picks)', () => {
    expect(port).toBeGreaterThan(0);
  });

  describe('GET', () => {
    it('/healthz answers ok, as JSON', async () => {
      const res = await get('/healthz');
      expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('/v1/status returns what status() gives', async () => {
      expect(await get('/v1/status')).toMatchObject({ status: 200, body: STATUS });
    });

    it('/v1/breakers answers for the service asked, or the first', async () => {
      expect(await get('/v1/breakers?service=api')).toMatchObject({ status: 200, body: { service: 'api', items: [] } });
      expect(await get('/v1/breakers')).toMatchObject({ status: 200, body: { service: 'web', items: [] } });
    });
  });

  describe('POST /v1/calls', () => {
    it('records one call, to the first service when none is named', async () => {
      expect(await post('/v1/calls', { dependency: 'db:5432', ok: false, durationMs: 250 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(aggregator.take('web')).toEqual({ dependencies: { 'db:5432': { calls: 1, failures: 1, slowCalls: 1, latencyMsP50: 250, latencyMsP99: 250 } } });
    });

    it('records counts an application aggregated itself', async () => {
      expect(await post('/v1/calls', { service: 'api', dependency: 'payments-api', calls: 10, failures: 2, slowCalls: 1 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/calls', { service: 'api', dependency: 'payments-api', calls: 5 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(aggregator.take('api')).toEqual({ dependencies: { 'payments-api': { calls: 15, failures: 2, slowCalls: 1 } } });
    });

    it('records a list mixing both forms', async () => {
      const res = await post('/v1/calls', {
        calls: [
          { dependency: 'redis', ok: true, durationMs: 3 },
          { dependency: 'https://auth.example.com/token', ok: true },
          { service: 'api', dependency: 'redis', calls: 4, failures: 4 },
        ],
      });
      expect(res).toMatchObject({ status: 202, body: { recorded: 3 } });
      expect(aggregator.take('web')).toEqual({
        dependencies: {
          redis: { calls: 1, failures: 0, slowCalls: 0, latencyMsP50: 3, latencyMsP99: 3 },
          'https://auth.example.com/token': { calls: 1, failures: 0, slowCalls: 0 },
        },
      });
      expect(aggregator.take('api')).toEqual({ dependencies: { redis: { calls: 4, failures: 4, slowCalls: 0 } } });
    });

    it('rejects a list naming each bad field by its index, and records none of it', async () => {
      const res = await post('/v1/calls', {
        calls: [
          { dependency: 'db', ok: true },
          { dependency: 'db', ok: 'yes', durationMs: -1 },
          { dependency: 'bad name!', calls: 1, failures: 2, slowCalls: 1.5 },
          'not an object',
        ],
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid report',
        problems: [
          'calls[1].ok must be true or false',
          'calls[1].durationMs must be a number of milliseconds ≥ 0',
          'calls[2].dependency must be a name like payments-api or db:5432 (letters, digits, . _ : / -; at most 128)',
          'calls[2].slowCalls must be a whole number ≥ 0',
          'calls[2].failures must not exceed calls',
          'calls[3] must be an object { dependency, ok, durationMs? } or { dependency, calls, failures?, slowCalls? }',
        ],
      });
      expect(aggregator.take('web')).toBeUndefined();
    });

    it('names the fields of a single report without an index', async () => {
      expect(await post('/v1/calls', { dependency: 'db' })).toMatchObject({ status: 400, body: { problems: ['ok must be true or false'] } });
      expect(await post('/v1/calls', { ok: true })).toMatchObject({ status: 400, body: { problems: ['dependency must be a name like payments-api or db:5432 (letters, digits, . _ : / -; at most 128)'] } });
      expect(await post('/v1/calls', [1, 2])).toMatchObject({ status: 400, body: { problems: ['body must be an object { dependency, ok, durationMs? } or { dependency, calls, failures?, slowCalls? }'] } });
    });

    it('rejects a service this agent does not report, listing the ones it does', async () => {
      expect(await post('/v1/calls', { service: 'billing', dependency: 'db', ok: true })).toMatchObject({
        status: 400,
        body: { error: 'invalid report', problems: ['service must be one of the services this agent reports (web, api), got "billing"'] },
      });
      expect(await post('/v1/calls', { calls: [{ service: 'web', dependency: 'db', ok: true }, { service: 7, dependency: 'db', ok: true }] })).toMatchObject({
        status: 400,
        body: { problems: ['calls[1].service must be one of the services this agent reports (web, api), got 7'] },
      });
      expect(aggregator.take('web')).toBeUndefined();
    });

    it('takes at most 1000 reports in one list', async () => {
      const calls = Array.from({ length: 1001 }, () => ({ dependency: 'db', ok: true }));
      expect(await post('/v1/calls', { calls })).toMatchObject({ status: 400, body: { problems: ['calls must hold at most 1000 reports (got 1001)'] } });
      expect(await post('/v1/calls', { calls: calls.slice(1) })).toMatchObject({ status: 202, body: { recorded: 1000 } });
      expect(aggregator.take('web')?.dependencies?.db?.calls).toBe(1000);
    });

    it('answers recorded: 0 for a dependency over the 200-per-service cap', async () => {
      const calls = Array.from({ length: 201 }, (_, i) => ({ service: 'api', dependency: `dep-${i}`, ok: true }));
      expect(await post('/v1/calls', { calls })).toMatchObject({ status: 202, body: { recorded: 200 } });
      expect(await post('/v1/calls', { service: 'api', dependency: 'one-more', ok: true })).toMatchObject({ status: 202, body: { recorded: 0 } });
      expect(Object.keys(aggregator.take('api')?.dependencies ?? {})).toHaveLength(200);
    });
  });

  describe('POST /v1/requests', () => {
    it('records one request, counts, or a list', async () => {
      expect(await post('/v1/requests', { ok: true, durationMs: 1500 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/requests', { ok: false })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/requests', { total: 10, errors: 1, slow: 2 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/requests', { requests: [{ ok: true, durationMs: 5 }, { service: 'api', total: 3 }] })).toMatchObject({ status: 202, body: { recorded: 2 } });
      // The two durations in the default buckets (1500 ms in 2500, 5 ms in 5), cumulative as heartbeats carry them.
      expect(aggregator.take('web')).toEqual({ requests: { total: 13, errors: 2, slow: 3, latencyMs: { '5': 1, '2500': 2, '+Inf': 2 } } });
      expect(aggregator.take('api')).toEqual({ requests: { total: 3, errors: 0, slow: 0 } });
    });

    it('adds latency buckets an application counted itself', async () => {
      expect(await post('/v1/requests', { total: 10, errors: 0, latencyMs: { '100': 6, '300': 9 } })).toMatchObject({ status: 202 });
      expect(await post('/v1/requests', { total: 10, errors: 0, latencyMs: { '300': 4, '+Inf': 5 } })).toMatchObject({ status: 202 });
      expect(aggregator.take('web')).toEqual({ requests: { total: 20, errors: 0, slow: 0, latencyMs: { '100': 6, '300': 13, '+Inf': 15 } } });
      expect(await post('/v1/requests', { requests: [{ total: 5, latencyMs: { '100': 3, '50': 4 } }, { total: 5, latencyMs: { '100': 6 } }, { total: 5, latencyMs: { soon: 1 } }] })).toMatchObject({
        status: 400,
        body: {
          problems: [
            'requests[0].latencyMs must be cumulative: counts that never fall as bounds grow, at most "+Inf" (requests measured, default total), which is at most total',
            'requests[1].latencyMs must be cumulative: counts that never fall as bounds grow, at most "+Inf" (requests measured, default total), which is at most total',
            'requests[2].latencyMs: bucket "soon" must be "+Inf" or a distinct upper bound in ms above 0 and at most 3600000 (at most 3 decimals)',
          ],
        },
      });
      expect(aggregator.take('web')).toBeUndefined();
    });

    it('names each bad field, with its index in a list', async () => {
      expect(await post('/v1/requests', { requests: [{ ok: true }, { total: 1, errors: 2 }, { ok: 1 }, { total: -1 }] })).toMatchObject({
        status: 400,
        body: {
          error: 'invalid report',
          problems: ['requests[1].errors must not exceed total', 'requests[2].ok must be true or false', 'requests[3].total must be a whole number ≥ 0'],
        },
      });
      expect(await post('/v1/requests', { ok: true, service: 'nope' })).toMatchObject({
        status: 400,
        body: { problems: ['service must be one of the services this agent reports (web, api), got "nope"'] },
      });
      expect(aggregator.take('web')).toBeUndefined();
    });
  });

  describe('POST /v1/rate-limited', () => {
    it('counts a policy’s rate-limited requests (1 when no count is given)', async () => {
      expect(await post('/v1/rate-limited', { policy: 'login' })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/rate-limited', { policy: 'login', count: 4 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(await post('/v1/rate-limited', { service: 'api', policy: 'search', count: 2 })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(aggregator.take('web')).toEqual({ rateLimited: { login: 5 } });
      expect(aggregator.take('api')).toEqual({ rateLimited: { search: 2 } });
    });

    it('names each bad field', async () => {
      expect(await post('/v1/rate-limited', { policy: 'Login Policy', count: 1.5, service: 'x' })).toMatchObject({
        status: 400,
        body: {
          problems: [
            'service must be one of the services this agent reports (web, api), got "x"',
            'policy must be a rate-limit policy name (^[a-z0-9][a-z0-9._-]{0,62}$)',
            'count must be a whole number ≥ 0',
          ],
        },
      });
      expect(await post('/v1/rate-limited', ['login'])).toMatchObject({ status: 400, body: { problems: ['body must be an object { policy, count?, service? }'] } });
    });
  });

  describe('bodies', () => {
    it('415 without a JSON content type', async () => {
      const text = JSON.stringify({ dependency: 'db', ok: true });
      for (const headers of [{ 'content-type': 'text/plain' }, {}, { 'content-type': 'application/x-www-form-urlencoded' }] as Record<string, string>[]) {
        expect(await post('/v1/calls', text, headers)).toMatchObject({ status: 415, body: { error: 'send JSON with Content-Type: application/json' } });
      }
      expect(await post('/v1/calls', text, { 'content-type': 'application/json; charset=utf-8' })).toMatchObject({ status: 202 });
      expect(aggregator.take('web')?.dependencies?.db?.calls).toBe(1);
    });

    it('400 for malformed JSON', async () => {
      const res = await post('/v1/calls', '{"dependency": "db", ', { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      expect((res.body as { error: string }).error).toMatch(/^malformed JSON: /);
    });

    it('413 for a body over 1 MiB, and 202 for one just under', async () => {
      const filler = (size: number) => {
        const head = '{"dependency":"db","ok":true,"pad":"';
        return `${head}${'x'.repeat(size - head.length - 2)}"}`;
      };
      expect(Buffer.byteLength(filler(1024 * 1024 + 1))).toBe(1024 * 1024 + 1);
      expect(await post('/v1/calls', filler(1024 * 1024 + 1), { 'content-type': 'application/json' })).toMatchObject({ status: 413, body: { error: 'body larger than 1048576 bytes' } });
      expect(await post('/v1/calls', filler(1024 * 1024), { 'content-type': 'application/json' })).toMatchObject({ status: 202, body: { recorded: 1 } });
      expect(aggregator.take('web')?.dependencies?.db?.calls).toBe(1);
    });
  });

  describe('routes', () => {
    it('404 for an unknown path, listing what the intake serves', async () => {
      const res = await get('/v1/nope');
      expect(res.status).toBe(404);
      const error = (res.body as { error: string }).error;
      expect(error).toMatch(/^no such endpoint; the intake serves /);
      for (const route of ['GET /healthz', 'GET /v1/status', 'GET /v1/breakers', 'POST /v1/calls', 'POST /v1/requests', 'POST /v1/rate-limited']) expect(error).toContain(route);
      expect((await post('/calls', { ok: true })).status).toBe(404);
    });

    it('405 for a known path with the wrong method, naming the right one', async () => {
      expect(await get('/v1/calls')).toMatchObject({ status: 405, body: { error: 'method GET not allowed; use POST' } });
      expect(await post('/healthz', {})).toMatchObject({ status: 405, body: { error: 'method POST not allowed; use GET' } });
      expect(await request(port, 'DELETE', '/v1/status')).toMatchObject({ status: 405, body: { error: 'method DELETE not allowed; use GET' } });
    });

    it('ignores the query string when routing', async () => {
      expect(await post('/v1/rate-limited?from=lib', { policy: 'login' })).toMatchObject({ status: 202 });
      expect(aggregator.take('web')).toEqual({ rateLimited: { login: 1 } });
    });

    it('404 for /v1/relay: relaying is served on the gossip port, not here', async () => {
      expect(await post('/v1/relay', { heartbeats: [] })).toMatchObject({ status: 404 });
    });
  });
});

describe('IntakeServer with application reports off (intake.enabled: false)', () => {
  const aggregator = new MetricsAggregator({ slowCallDurationMs: 200, slowRequestDurationMs: 1000 });
  const intake = new IntakeServer({ aggregator, reports: false, services: ['web'], status: () => STATUS, breakers: () => ({ items: [] }), log: silent });
  let port = 0;

  beforeAll(async () => {
    port = await intake.listen('127.0.0.1', 0);
  });
  afterAll(async () => {
    await intake.close();
  });

  it('answers 404 to reports, saying they are switched off, and records nothing', async () => {
    const off = { status: 404, body: { error: 'application reports are switched off on this agent (intake.enabled: false)' } };
    expect(await request(port, 'POST', '/v1/calls', { dependency: 'db', ok: true })).toMatchObject(off);
    expect(await request(port, 'POST', '/v1/requests', { ok: true })).toMatchObject(off);
    expect(await request(port, 'POST', '/v1/rate-limited', { policy: 'login' })).toMatchObject(off);
    expect(aggregator.take('web')).toBeUndefined();
  });

  it('still serves /healthz and /v1/status', async () => {
    expect(await request(port, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await request(port, 'GET', '/v1/status')).toMatchObject({ status: 200, body: STATUS });
  });
});

describe('IntakeServer lifecycle', () => {
  it('fails to listen on a port already taken, and close() is safe to repeat', async () => {
    const deps = { aggregator: new MetricsAggregator({ slowCallDurationMs: 1, slowRequestDurationMs: 1 }), reports: true, services: ['web'], status: () => ({}), breakers: () => ({}), log: silent };
    const a = new IntakeServer(deps);
    const b = new IntakeServer(deps);
    const port = await a.listen('127.0.0.1', 0);
    await expect(b.listen('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await a.close();
    await a.close();
    await b.close();
  });
});
