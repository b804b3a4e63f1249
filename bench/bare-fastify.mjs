#!/usr/bin/env node
// The baseline of `npm run bench:ingest`: bare Fastify answering the heartbeat
// route the way Ninefold does on the wire (Fastify's own JSON body parser,
// 202 {"accepted": n}), with no auth, no validation, no Redis and no Nest.
//
// It loads the very fastify copy @nestjs/platform-fastify uses (the project
// has exactly one: test/dependencies.spec.ts), so the comparison measures
// what Nest and Ninefold add, not a difference between Fastify versions.
//
//   PORT=3999 node bench/bare-fastify.mjs     prints "bare fastify listening on <url>"
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const nestFastify = import.meta.resolve('@nestjs/platform-fastify');
const fastifyPath = createRequire(nestFastify).resolve('fastify');
const { default: Fastify } = await import(pathToFileURL(fastifyPath).href);

const port = Number(process.env.PORT ?? 3999);
const host = process.env.HOST ?? '127.0.0.1';

// Same body limit as Ninefold's default BODY_LIMIT_BYTES.
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

app.post('/api/v1/heartbeats', async (request, reply) => {
  const body = request.body;
  const n = body !== null && typeof body === 'object' && Array.isArray(body.heartbeats) ? body.heartbeats.length : 1;
  reply.code(202);
  return { accepted: n };
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    app.close().finally(() => process.exit(0));
  });
}

await app.listen({ port, host });
process.stdout.write(`bare fastify listening on http://${host}:${port} (fastify ${app.version} from ${fastifyPath})\n`);
