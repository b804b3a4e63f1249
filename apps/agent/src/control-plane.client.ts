import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { parseRetryAfter } from './backoff.js';

/** What became of one request to the control plane, as the agent must react to it. */
export type Outcome =
  /** 2xx. */
  | { kind: 'ok'; status: number; body: unknown; headers: http.IncomingHttpHeaders }
  /** 4xx the request itself caused (400, 404, 409, 413, 422): resending the same thing will fail again. */
  | { kind: 'rejected'; status: number; message: string }
  /** 401/403: the key is wrong, revoked or lacks the role. Retried slowly: an operator may fix it. */
  | { kind: 'unauthorized'; status: number; message: string }
  /** 429/503: the control plane asks to come back later (`retryAfterMs` from Retry-After when given). */
  | { kind: 'throttled'; status: number; message: string; retryAfterMs?: number }
  /** Network error, timeout, other 5xx, or an answer that is not what the contract says. */
  | { kind: 'failed'; message: string; status?: number };

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Aborting fails the request at once (outcome `failed`, "aborted"). */
  signal?: AbortSignal;
}

/**
 * The agent's HTTP client for the control plane: keep-alive connections,
 * a timeout on every request, and every answer (or failure) turned into an
 * {@link Outcome}. It never throws and never trusts a body to be JSON.
 */
export class ControlPlaneClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(
    baseUrl: string,
    /** null for a peer agent's relay, which takes no API key. */
    private readonly key: string | null,
    private readonly opts: { timeoutMs: number; userAgent: string },
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    // https (and TLS) only loaded for an https control plane.
    this.transport = this.base.protocol === 'https:' ? (createRequire(import.meta.url)('node:https') as typeof https) : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 4, keepAliveMsecs: 10_000 });
  }

  get(path: string, opts: RequestOptions = {}): Promise<Outcome> {
    return this.request('GET', path, undefined, opts);
  }

  post(path: string, body: unknown, opts: RequestOptions = {}): Promise<Outcome> {
    return this.request('POST', path, body, opts);
  }

  delete(path: string, opts: RequestOptions = {}): Promise<Outcome> {
    return this.request('DELETE', path, undefined, opts);
  }

  put(path: string, body: unknown, opts: RequestOptions = {}): Promise<Outcome> {
    return this.request('PUT', path, body, opts);
  }

  close(): void {
    this.agent.destroy();
  }

  request(method: string, path: string, body: unknown, opts: RequestOptions = {}): Promise<Outcome> {
    // A Buffer is JSON already serialized (the relay signs the exact bytes it sends).
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const url = new URL(path.replace(/^\//, ''), this.base);
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const done = (o: Outcome) => {
        if (!settled) {
          settled = true;
          resolve(o);
        }
      };
      const req = this.transport.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...(this.key !== null ? { authorization: `Bearer ${this.key}` } : {}),
            'user-agent': this.opts.userAgent,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // The contract's answers are small; a huge body is not one of them.
            if (size <= 4 * 1024 * 1024) chunks.push(c);
          });
          res.on('error', (err) => done({ kind: 'failed', message: `reading the answer: ${err.message}` }));
          res.on('end', () => done(classify(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
        },
      );
      req.setTimeout(opts.timeoutMs ?? this.opts.timeoutMs, () => {
        req.destroy(new Error(`no answer within ${opts.timeoutMs ?? this.opts.timeoutMs} ms`));
      });
      if (opts.signal) {
        if (opts.signal.aborted) req.destroy(new Error('aborted'));
        else opts.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.on('error', (err: NodeJS.ErrnoException) => done({ kind: 'failed', message: `${method} ${url.pathname}: ${err.code ? `${err.code} ` : ''}${err.message}` }));
      req.end(payload);
    });
  }
}

function classify(status: number, headers: http.IncomingHttpHeaders, text: string): Outcome {
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (status >= 200 && status < 300) return { kind: 'ok', status, body, headers };
  const message = errorMessage(body) ?? (text.slice(0, 200) || `HTTP ${status}`);
  if (status === 401 || status === 403) return { kind: 'unauthorized', status, message };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(headersValue(headers['retry-after']), Date.now());
    return { kind: 'throttled', status, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status >= 400 && status < 500 && status !== 408) return { kind: 'rejected', status, message };
  return { kind: 'failed', status, message: `HTTP ${status}: ${message}` };
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const m = (body as { message?: unknown }).message;
  if (typeof m === 'string') return m;
  if (Array.isArray(m)) return m.map(String).join('; ');
  // The agents' own servers (the relay) answer { error }.
  const e = (body as { error?: unknown }).error;
  return typeof e === 'string' ? e : undefined;
}

function headersValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
