import 'reflect-metadata';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Logger as NestLogger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import { Logger } from 'nestjs-pino';
import { ApiKeysService, applyMigrationsWithRetry, config, ConfigError, DomainError, ErrorCode, MetricsService, requestId, installShutdownWatchdog } from '#core';
import { ApiModule } from './api.module.js';
import { acceptEmptyJsonBodies } from './common/json-body.js';
import { ApiFastifyAdapter, HeartbeatIngress } from './heartbeats/heartbeat-ingress.js';
import { setupOpenApi } from './openapi.js';
import { dashboardDir } from './web/web-pages.js';

async function bootstrap(): Promise<void> {
  const cfg = config();
  if (cfg.NINEFOLD_MIGRATE_ON_START) {
    await applyMigrationsWithRetry(cfg.DATABASE_URL);
  }

  const ingress = new HeartbeatIngress();
  const adapter = new ApiFastifyAdapter(ingress, {
    bodyLimit: cfg.BODY_LIMIT_BYTES,
    genReqId: requestId,
    trustProxy: true,
    return503OnClosing: true,
    serverFactory: ingress.serverFactory,
  });
  // bodyParser: false keeps Fastify's own JSON parser only (no form bodies: the API speaks JSON).
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule, adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        new DomainError(
          ErrorCode.Invalid,
          errors.flatMap((e) => flatten(e)),
        ),
    }),
  );
  app.enableShutdownHooks();
  installShutdownWatchdog(cfg.SHUTDOWN_GRACE_SECONDS, 'api');

  const fastify = app.getHttpAdapter().getInstance();
  // The API speaks JSON only: other bodies get 415 instead of reaching validation as strings.
  fastify.removeContentTypeParser('text/plain');
  acceptEmptyJsonBodies(fastify);
  const metrics = app.get(MetricsService);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });

  // The web UI's scripts, styles and icon (its pages come from WebController).
  // Asset names carry a content hash, so browsers keep them for a year.
  if (existsSync(dashboardDir())) {
    await app.register(fastifyStatic, {
      root: dashboardDir(),
      prefix: '/',
      index: false,
      wildcard: false,
      preCompressed: true,
      cacheControl: false,
      allowedPath: (pathName: string) => !pathName.endsWith('.html'),
      setHeaders: (reply, file) => {
        void reply.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
        void reply.header('x-content-type-options', 'nosniff');
      },
    });
  }

  setupOpenApi(app);
  await ingress.start(app, cfg);

  const boot = await app.get(ApiKeysService).bootstrapAdminKey();
  await app.listen(cfg.PORT, cfg.HOST);
  const url = `http://${cfg.HOST === '0.0.0.0' ? '127.0.0.1' : cfg.HOST}:${cfg.PORT}`;
  const where = cfg.HOST === '0.0.0.0' || cfg.HOST === '::' ? `port ${cfg.PORT} of every interface (HOST=${cfg.HOST})` : `${cfg.HOST}:${cfg.PORT}`;
  new NestLogger('Bootstrap').log({ url, host: cfg.HOST, port: cfg.PORT }, `Ninefold api listening on ${where}`);
  if (boot.created && boot.key) {
    // Printed once, on the first start of an empty database; never logged again.
    process.stdout.write(
      `\n  First start: created an admin API key. It is shown only this once; store it now:\n\n    ${boot.key}\n\n` +
        `  Use it as "Authorization: Bearer <key>" and create narrower keys with POST /api/v1/keys.\n\n`,
    );
  } else if (boot.created) {
    new NestLogger('Bootstrap').log('First start: created the admin API key given in NINEFOLD_ADMIN_KEY');
  }
}

/** "field: problem" for every failed constraint, nested properties as a.b. */
function flatten(e: import('class-validator').ValidationError, parent = ''): string[] {
  const field = parent ? `${parent}.${e.property}` : e.property;
  const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? `${parent ? `${parent}.` : ''}${m}` : `${field}: ${m}`));
  return [...own, ...(e.children ?? []).flatMap((c) => flatten(c, field))];
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`ninefold api: ${err.message}\n`);
  } else {
    process.stderr.write(`ninefold api: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
