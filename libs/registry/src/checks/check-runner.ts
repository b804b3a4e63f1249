import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface CheckSpec {
  type: 'http' | 'tcp';
  target: string;
  timeoutMs: number;
  expectStatus?: number | null;
  expectBody?: string | null;
}

export interface CheckOutcome {
  ok: boolean;
  latencyMs: number;
  /** HTTP status, for http checks that got an answer. */
  status?: number;
  error?: string;
  /** For https targets: when the server's certificate expires, and in how many days. */
  certExpiresAt?: string;
  certDaysLeft?: number;
}

const MAX_BODY = 64 * 1024;

/** Runs one check against its target. Never throws: every failure is an outcome with `ok: false` and a reason. */
export async function runCheck(spec: CheckSpec): Promise<CheckOutcome> {
  const started = performance.now();
  try {
    const outcome = spec.type === 'tcp' ? await tcp(spec.target, spec.timeoutMs) : await httpCheck(spec);
    return { ...outcome, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

/** `host:port` (IPv6 in brackets) → parts. */
export function splitHostPort(target: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(target);
  if (!m) throw new Error(`target must be host:port, got ${target}`);
  return { host: m[1], port: Number(m[2]) };
}

function tcp(target: string, timeoutMs: number): Promise<Omit<CheckOutcome, 'latencyMs'>> {
  const { host, port } = splitHostPort(target);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: `no connection within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: err.code ?? err.message });
    });
  });
}

function httpCheck(spec: CheckSpec): Promise<Omit<CheckOutcome, 'latencyMs'>> {
  const url = new URL(spec.target);
  // Loaded on first use: the agent, which runs this too, stays small on hosts without https checks.
  const client = url.protocol === 'https:' ? (createRequire(import.meta.url)('node:https') as typeof https) : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Omit<CheckOutcome, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const req = client.request(url, { method: 'GET', headers: { 'user-agent': 'ninefold-check/1', accept: '*/*' }, rejectUnauthorized: true }, (res) => {
      const cert: Partial<CheckOutcome> = {};
      const socket = res.socket as TLSSocket;
      if (typeof socket.getPeerCertificate === 'function') {
        const validTo = socket.getPeerCertificate()?.valid_to;
        if (validTo) {
          const at = new Date(validTo);
          cert.certExpiresAt = at.toISOString();
          cert.certDaysLeft = Math.floor((at.getTime() - Date.now()) / 86_400_000);
        }
      }
      const status = res.statusCode ?? 0;
      const statusOk = spec.expectStatus ? status === spec.expectStatus : status >= 200 && status < 400;
      if (!spec.expectBody) {
        res.resume();
        return done({ ok: statusOk, status, ...cert, ...(statusOk ? {} : { error: `HTTP ${status}${spec.expectStatus ? `, expected ${spec.expectStatus}` : ''}` }) });
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < MAX_BODY) body += chunk;
      });
      res.on('end', () => {
        const bodyOk = body.includes(spec.expectBody!);
        const ok = statusOk && bodyOk;
        done({ ok, status, ...cert, ...(ok ? {} : { error: !statusOk ? `HTTP ${status}` : `body does not contain ${JSON.stringify(spec.expectBody)}` }) });
      });
      res.on('error', (err) => done({ ok: false, status, error: err.message }));
    });
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${spec.timeoutMs} ms` }), spec.timeoutMs);
    // The code alone (as the tcp check says it): the message only repeats it with the address, which the target names.
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message }));
    req.end();
  });
}
