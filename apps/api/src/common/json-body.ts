import type { FastifyInstance } from 'fastify';

type PoisoningAction = 'error' | 'remove' | 'ignore';

/**
 * Fastify's JSON parser, except that an empty body is no body: many HTTP
 * clients send `content-type: application/json` on every call, and a DELETE
 * or a POST that takes nothing must not fail with "Body cannot be empty" (nor
 * answer 400 before the key is checked). An operation that needs a body still
 * gets 400 from validation, naming each missing field.
 */
export function acceptEmptyJsonBodies(fastify: FastifyInstance, poisoning: PoisoningAction = 'error'): void {
  const json = fastify.getDefaultJsonParser(poisoning, poisoning);
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.length === 0) return done(null, undefined);
    json(req, body as string, done);
  });
}
