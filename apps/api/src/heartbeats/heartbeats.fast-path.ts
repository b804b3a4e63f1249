import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService, bearerToken, config, DomainError, ErrorCode, MetricsService } from '#core';
import { HeartbeatStream, parseHeartbeats } from '#registry';
import { AllExceptionsFilter } from '../common/all-exceptions.filter.js';

/**
 * `POST /api/v1/heartbeats` is the hottest route of the product. Nest's
 * per-request machinery (router, guards, interceptors, pipes) costs about
 * half of its throughput, so this hook answers it right after Fastify has
 * parsed the body, with the same rules as {@link HeartbeatsController} (which
 * stays the documented and fallback implementation): any valid key (every
 * role includes agent), the single-pass validator, and 202 only once the batch
 * is in the Redis stream.
 */
export function installHeartbeatFastPath(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const keys = app.get(ApiKeysService);
  const stream = app.get(HeartbeatStream);
  const metrics = app.get(MetricsService);
  const errors = new AllExceptionsFilter(config());
  fastify.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/api/v1/heartbeats') return;
    try {
      const token = bearerToken(request.headers.authorization);
      if (!token) throw new DomainError(ErrorCode.Unauthenticated, 'missing API key: send Authorization: Bearer <key>');
      if (!(await keys.verify(token))) throw new DomainError(ErrorCode.Unauthenticated, 'unknown or revoked API key');
      const parsed = parseHeartbeats(request.body, Date.now());
      if (!parsed.ok) throw new DomainError(ErrorCode.Invalid, parsed.errors);
      await stream.append(parsed.heartbeats);
      metrics.heartbeatsAccepted.inc(parsed.heartbeats.length);
      void reply.code(202).header('content-type', 'application/json; charset=utf-8').send(`{"accepted":${parsed.heartbeats.length}}`);
    } catch (err) {
      errors.send(err, request, reply);
    }
    return reply;
  });
}
