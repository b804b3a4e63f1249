import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HttpClient } from './support/http.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Roles v1.1, generated from the OpenAPI document: every /api/v1 operation is
 * called by each role and without a key, and must answer as its
 * `x-ninefold-roles` says: 401 without a key, 403 for a role it does not list,
 * and for a role it lists anything but 401/403/5xx (2xx, or a 4xx of
 * validation: the calls carry placeholder ids and empty bodies). A new
 * operation is covered without editing this file.
 */
const ROLES = ['agent', 'viewer', 'operator', 'admin'] as const;
type Caller = (typeof ROLES)[number] | 'no key';

interface Operation {
  method: string;
  path: string;
  /** `public` for an operation that needs no key. */
  access: string | undefined;
  roles: string[] | undefined;
  url: string;
  body: unknown;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { type?: string; format?: string; minimum?: number; enum?: unknown[] };
}

function sample(p: Parameter): string {
  const s = p.schema ?? {};
  if (s.enum?.length) return String(s.enum[0]);
  if (s.format === 'uuid' || p.name === 'id') return randomUUID();
  if (s.type === 'integer' || s.type === 'number') return String(s.minimum ?? 1);
  if (s.format === 'date-time') return new Date().toISOString();
  return 'roles-probe';
}

function operations(doc: { paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: unknown; 'x-ninefold-access'?: string; 'x-ninefold-roles'?: string[] }>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/v1/')) continue;
    for (const [method, op] of Object.entries(item)) {
      const params = op.parameters ?? [];
      let url = path;
      for (const p of params.filter((x) => x.in === 'path')) url = url.replace(`{${p.name}}`, encodeURIComponent(sample(p)));
      // Numeric query parameters at their minimum (a long poll's wait=0), required ones filled in.
      const query = params.filter((p) => p.in === 'query' && (p.required || p.schema?.minimum !== undefined)).map((p) => `${p.name}=${encodeURIComponent(sample(p))}`);
      if (query.length) url += `?${query.join('&')}`;
      ops.push({ method: method.toUpperCase(), path, access: op['x-ninefold-access'], roles: op['x-ninefold-roles'], url, body: op.requestBody ? {} : undefined });
    }
  }
  return ops;
}

describe('roles v1.1 on every /api/v1 operation (generated from the OpenAPI document)', () => {
  let stack: Stack;
  let ops: Operation[];
  const callers = new Map<Caller, HttpClient>();

  beforeAll(async () => {
    stack = await startStack();
    const doc = await new HttpClient(stack.api.url).get('/api/docs-json');
    ops = operations(doc.body);
    callers.set('no key', new HttpClient(stack.api.url));
    callers.set('admin', stack.admin);
    for (const role of ['agent', 'viewer', 'operator'] as const) callers.set(role, (await stack.client(role)).http);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('finds the operations, and every one states its roles', () => {
    expect(ops.length).toBeGreaterThanOrEqual(40);
    const unstated = ops.filter((o) => !Array.isArray(o.roles) || (o.roles.length === 0 && o.access !== 'public'));
    expect(unstated.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    for (const o of ops) for (const r of o.roles ?? []) expect(ROLES).toContain(r);
  });

  it('answers each operation, for each role and without a key, as its roles say', async () => {
    const wrong: string[] = [];
    const calls = ops.flatMap((op) => [...callers.keys()].map((caller) => ({ op, caller })));
    // A few at a time: the api's per-key request rate is not what this tests.
    for (let i = 0; i < calls.length; i += 8) {
      await Promise.all(
        calls.slice(i, i + 8).map(async ({ op, caller }) => {
          const res = await callers.get(caller)!.request(op.method, op.url, op.body);
          const allowed = op.access === 'public' || (caller !== 'no key' && (op.roles ?? []).includes(caller));
          const ok = allowed ? res.status < 500 && res.status !== 401 && res.status !== 403 : res.status === (caller === 'no key' ? 401 : 403);
          if (!ok) wrong.push(`${op.method} ${op.path} as ${caller}: ${res.status} ${res.text.slice(0, 160)}`);
        }),
      );
    }
    expect(wrong).toEqual([]);
  });

  it('checks the key before the body: content-type JSON with no body gets 401 without a key, on every operation', async () => {
    const anon = callers.get('no key')!;
    const wrong: string[] = [];
    for (const op of ops.filter((o) => o.access !== 'public')) {
      const res = await anon.request(op.method, op.url, undefined, { 'content-type': 'application/json' });
      if (res.status !== 401) wrong.push(`${op.method} ${op.path}: ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('takes an empty JSON body where an operation needs none, and names the missing fields where it needs some', async () => {
    const created = await stack.admin.post('/api/v1/keys', { name: 'empty-body', role: 'viewer' });
    const revoked = await stack.admin.request('DELETE', `/api/v1/keys/${created.body.id}`, undefined, { 'content-type': 'application/json' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const key = await stack.admin.request('POST', '/api/v1/keys', undefined, { 'content-type': 'application/json' });
    expect(key.status).toBe(400);
    expect(key.body.message).toEqual(expect.arrayContaining([expect.stringMatching(/^name/), expect.stringMatching(/^role/)]));
    const beat = await stack.admin.request('POST', '/api/v1/heartbeats', undefined, { 'content-type': 'application/json' });
    expect(beat.status).toBe(400);
  });

  it('says in a 403 which roles may do it', async () => {
    const viewer = callers.get('viewer')!;
    const res = await viewer.post('/api/v1/heartbeats', { service: 'web', instance: 'web-1' });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/^only agent or admin keys may do this; the key "viewer-\w+" has the viewer role$/);
  });

  it('lists every operation in docs/api.md with the roles the OpenAPI document states', () => {
    // A table row: | `METHOD /api/v1/path/:param?query` … | roles | what |, one or more operations in its first cell.
    const documented = new Map<string, string>();
    const md = fs.readFileSync(path.join(process.cwd(), 'docs', 'api.md'), 'utf8');
    for (const row of md.split('\n').filter((l) => l.startsWith('| `'))) {
      const [first, roles] = row.slice(2).split(' | ');
      for (const m of first.matchAll(/`(GET|POST|PUT|DELETE|PATCH) (\/api\/v1\/[^`\s?[]*)/g)) {
        documented.set(`${m[1]} ${m[2].replace(/:(\w+)/g, '{$1}')}`, roles.trim());
      }
    }
    const expected = (o: Operation) => (o.access === 'public' ? 'none (public)' : (o.roles ?? []).join(', '));
    const wrong = ops.filter((o) => documented.get(`${o.method} ${o.path}`) !== expected(o));
    expect(wrong.map((o) => `${o.method} ${o.path}: docs/api.md says ${documented.get(`${o.method} ${o.path}`) ?? 'nothing'}, the API ${expected(o)}`)).toEqual([]);
    const known = new Set(ops.map((o) => `${o.method} ${o.path}`));
    expect([...documented.keys()].filter((k) => !known.has(k))).toEqual([]);
  });

  it('lets a viewer change nothing and an agent read nothing but what agents read', () => {
    // POST /availability/compose is a calculator: it stores nothing.
    const writes = ops.filter((o) => o.method !== 'GET' && o.path !== '/api/v1/availability/compose');
    expect(writes.filter((o) => o.roles?.includes('viewer')).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    const agentReads = ops.filter((o) => o.method === 'GET' && o.roles?.includes('agent')).map((o) => o.path);
    for (const p of agentReads) expect(p).toMatch(/^\/api\/v1\/(discovery|probe-tasks|auth\/whoami|breakers)/);
  });
});
