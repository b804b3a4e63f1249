import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiKeysService, MetricsService, type NinefoldConfig, type Principal, requestId } from '#core';
import { HeartbeatStream } from '#registry';
import { AllExceptionsFilter } from '../common/all-exceptions.filter.js';
import { acceptEmptyJsonBodies } from '../common/json-body.js';

export const HEARTBEATS_PATH = '/api/v1/heartbeats';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `POST /api/v1/heartbeats` is the hottest route of the product, and Nest's
 * per-request machinery (its Fastify hooks, the middleware runner, the
 * router and the handler pipeline) costs about half the throughput of bare
 * Fastify even when the handler does nothing. So the api's HTTP server hands
 * that one route to a second, minimal Fastify instance (the same fastify
 * copy, the same body limit, JSON parser, request ids and error JSON) and
 * every other request to Nest.
 *
 * The route keeps {@link HeartbeatsController}'s rules (the agent role, and
 * the same HeartbeatStream.receive: 202 only once the batch is in the Redis stream).
 * The controller stays the documented implementation (OpenAPI) and serves the
 * route while the api starts and once it shuts down, when Nest answers 503.
 */
export class HeartbeatIngress {
  private handler: Handler | null = null;
  private instance: FastifyInstance | null = null;

  /** For FastifyAdapter's `serverFactory`: one HTTP server that dispatches between the two. */
  readonly serverFactory = (nest: Handler): http.Server =>
    http.createServer((req, res) => {
      if (this.handler !== null && req.method === 'POST' && isHeartbeatsUrl(req.url)) this.handler(req, res);
      else nest(req, res);
    });

  /** Starts serving the route (until then, and after {@link stop}, Nest's controller does). */
  async start(app: NestFastifyApplication, cfg: NinefoldConfig): Promise<void> {
    const keys = app.get(ApiKeysService);
    const stream = app.get(HeartbeatStream);
    const metrics = app.get(MetricsService);
    const errors = new AllExceptionsFilter(cfg);
    // Prototype poisoning: Fastify's JSON parser scans every body for `__proto__` and `constructor` keys, which
    // are only dangerous when a body is merged into another object. This route's body goes to parseHeartbeats
    // alone, which copies known fields into new objects and rejects any other key (ingress.e2e-spec.ts), so the
    // scan (about a sixth of the parse) is skipped here. Every other route keeps it.
    const fastify = Fastify({
      bodyLimit: cfg.BODY_LIMIT_BYTES,
      genReqId: requestId,
      trustProxy: true,
      logger: false,
      onProtoPoisoning: 'ignore',
      onConstructorPoisoning: 'ignore',
    });
    // As in main.ts: JSON only, other bodies get 415.
    fastify.removeContentTypeParser('text/plain');
    acceptEmptyJsonBodies(fastify, 'ignore');
    // The api's http_requests metrics, recorded as the answer is sent (no onResponse hook on this route:
    // the duration is the time until the answer is handed to the socket).
    const tally = metrics.routeTally('POST', HEARTBEATS_PATH);
    const record = (reply: FastifyReply) => tally.record(reply.statusCode, reply.elapsedTime / 1000);
    fastify.setErrorHandler((err, request, reply) => {
      void reply.header('x-request-id', request.id);
      errors.send(err, request, reply);
      record(reply);
    });
    // Callback style rather than async/await: on this route every promise and microtask shows in the throughput.
    const answer = (reply: FastifyReply, accepted: number) => {
      void reply.code(202).header('content-type', 'application/json; charset=utf-8').send(`{"accepted":${accepted}}`);
      record(reply);
    };
    const fail = (reply: FastifyReply) => (err: unknown) => void reply.send(err);
    const ingest = (principal: Principal, request: FastifyRequest, reply: FastifyReply) => {
      const key = request.headers['idempotency-key'];
      stream.receiveThen(request.body, key === undefined ? undefined : { scope: principal.keyId, key: String(key) }, (err, r) => {
        if (err !== null || r === undefined) return void reply.send(err);
        if (r.replayed) void reply.header('idempotent-replayed', 'true');
        answer(reply, r.accepted);
      });
    };
    // A plain handler that returns nothing: Fastify then waits for reply.send. Returning the reply (a thenable)
    // would make Fastify listen for the end of every response (about 3 % of this route's CPU in a profile).
    fastify.post(HEARTBEATS_PATH, (request, reply): void => {
      void reply.header('x-request-id', request.id);
      const cached = keys.authenticateCached(request.headers.authorization, 'agent');
      if (cached) ingest(cached, request, reply);
      else keys.authenticate(request.headers.authorization, 'agent').then((p) => ingest(p, request, reply), fail(reply));
    });
    await fastify.ready();
    this.instance = fastify;
    this.handler = fastify.routing as Handler;
  }

  /** Hands the route back to Nest (which answers 503 while shutting down). */
  stop(): void {
    this.handler = null;
  }

  async close(): Promise<void> {
    this.stop();
    await this.instance?.close();
    this.instance = null;
  }
}

function isHeartbeatsUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(HEARTBEATS_PATH)) return false;
  return url.length === HEARTBEATS_PATH.length || url.charCodeAt(HEARTBEATS_PATH.length) === 63; /* ? */
}

/** The api's FastifyAdapter: hands the heartbeat route back to Nest as soon as shutdown begins. */
export class ApiFastifyAdapter extends FastifyAdapter {
  constructor(
    private readonly ingress: HeartbeatIngress,
    options: FastifyHttpOptions<http.Server>,
  ) {
    super(options);
  }

  override beforeClose(): void {
    this.ingress.stop();
    super.beforeClose();
  }

  override async close(): Promise<void> {
    await this.ingress.close();
    await super.close();
  }
}
