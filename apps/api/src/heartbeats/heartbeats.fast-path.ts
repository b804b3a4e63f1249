import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService, config } from '#core';
import { HeartbeatStream } from '#registry';
import { AllExceptionsFilter } from '../common/all-exceptions.filter.js';

/**
 * `POST /api/v1/heartbeats` is the hottest route of the product. Nest's
 * per-request machinery (router, guards, interceptors, pipes) costs about
 * half of its throughput, so this hook answers it right after Fastify has
 * parsed the body, with the same rules as {@link HeartbeatsController} (which
 * stays the documented and fallback implementation and calls the same two
 * methods): the agent role, and 202 only once the batch is in the Redis stream.
 */
export function installHeartbeatFastPath(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const keys = app.get(ApiKeysService);
  const stream = app.get(HeartbeatStream);
  const errors = new AllExceptionsFilter(config());
  fastify.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/api/v1/heartbeats') return;
    try {
      await keys.authenticate(request.headers.authorization, 'agent');
      const accepted = await stream.accept(request.body);
      void reply.code(202).header('content-type', 'application/json; charset=utf-8').send(`{"accepted":${accepted}}`);
    } catch (err) {
      errors.send(err, request, reply);
    }
    return reply;
  });
}
