import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { ControlPlaneClient, Outcome } from './control-plane.client.js';
import { JsonHttpServer, readBody, sendJson } from './local-http.js';
import type { Logger } from './logger.js';
import { MAX_BATCH, type WireHeartbeat } from './wire.js';

const BODY_LIMIT = 4 * 1024 * 1024;
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Relaying between agents of a gossip group, over HTTP on the gossip port
 * (TCP; the membership itself is UDP on the same port number).
 *
 *   POST /v1/relay   { "heartbeats": [ ... ], "idempotencyKey": "…" }
 *   headers          x-ninefold-peer: <origin instance id>
 *                    x-ninefold-group: <group>
 *                    x-ninefold-signature: hex HMAC-SHA256(secret, body)   (when the group has a secret)
 *
 * The relaying agent forwards the batch to the control plane at once, with
 * its own key, every heartbeat marked `via: <its instance id>`, and answers
 * with what the control plane said (202 only once it has them; 502/503
 * otherwise), so the origin keeps the batch until it really arrived.
 */
export class RelayServer {
  private readonly http: JsonHttpServer;
  /** Heartbeats this agent relayed for peers. */
  relayed = 0;

  constructor(
    private readonly opts: { self: string; group: string; secret?: string; client: ControlPlaneClient; log: Logger },
  ) {
    this.http = new JsonHttpServer('relay', (req, res) => this.handle(req, res), opts.log, 30_000);
  }

  listen(host: string, port: number): Promise<number> {
    return this.http.listen(host, port);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/v1/relay') return sendJson(res, 404, { error: 'only POST /v1/relay is served here' });
    const body = await readBody(req, res, BODY_LIMIT);
    if (body === null) return;
    const origin = header(req, 'x-ninefold-peer');
    if (!origin || !NAME_PATTERN.test(origin)) return sendJson(res, 400, { error: 'x-ninefold-peer must name the origin agent' });
    if (header(req, 'x-ninefold-group') !== this.opts.group) return sendJson(res, 403, { error: 'not a member of this gossip group' });
    if (this.opts.secret !== undefined && !validSignature(this.opts.secret, body, header(req, 'x-ninefold-signature'))) {
      return sendJson(res, 403, { error: 'bad or missing x-ninefold-signature' });
    }
    let parsed: { heartbeats?: unknown; idempotencyKey?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      return sendJson(res, 400, { error: 'malformed JSON' });
    }
    if (!Array.isArray(parsed.heartbeats) || parsed.heartbeats.length === 0 || parsed.heartbeats.length > MAX_BATCH || typeof parsed.idempotencyKey !== 'string') {
      return sendJson(res, 400, { error: `body must be { heartbeats: [1..${MAX_BATCH}], idempotencyKey }` });
    }
    const heartbeats = (parsed.heartbeats as WireHeartbeat[]).map((h) => ({ ...h, via: this.opts.self }));
    // The origin's key, scoped by the origin: a resend through this or another peer is stored once.
    const key = `relay:${origin}:${parsed.idempotencyKey}`.slice(0, 255);
    const outcome = await this.opts.client.post('/api/v1/heartbeats', { heartbeats }, { headers: { 'idempotency-key': key } });
    if (outcome.kind === 'ok') {
      this.relayed += heartbeats.length;
      return sendJson(res, 202, outcome.body ?? { accepted: heartbeats.length });
    }
    this.opts.log.warn('could not relay heartbeats for a peer', { peer: origin, reason: outcome.message });
    if (outcome.kind === 'rejected') return sendJson(res, outcome.status, { error: outcome.message });
    return sendJson(res, 503, { error: `this peer cannot reach the control plane either: ${outcome.message}` });
  }
}

/** Sends a batch through a peer's relay (`client`: one for that peer, without an API key); the answer is the control plane's, as the peer saw it. */
export async function relayThrough(
  client: ControlPlaneClient,
  peerId: string,
  batch: { heartbeats: WireHeartbeat[]; idempotencyKey: string },
  opts: { self: string; group: string; secret?: string },
): Promise<Outcome> {
  const body = Buffer.from(JSON.stringify(batch));
  const headers: Record<string, string> = {
    'x-ninefold-peer': opts.self,
    'x-ninefold-group': opts.group,
    ...(opts.secret !== undefined ? { 'x-ninefold-signature': sign(opts.secret, body) } : {}),
  };
  const outcome = await client.post('/v1/relay', body, { headers });
  return outcome.kind === 'ok' ? outcome : { ...outcome, message: `relay via ${peerId}: ${outcome.message}` };
}

function sign(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function validSignature(secret: string, body: Buffer, given: string | undefined): boolean {
  if (!given || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(sign(secret, body), 'hex'), Buffer.from(given, 'hex'));
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

