import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { NinefoldConfig } from '../config/env.schema.js';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'key',
  '*.key',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The request id: the caller's `X-Request-Id` when it is sane, else a new UUID.
 * Fastify calls this first (request.id); it is kept on the raw request so the
 * request logger uses the same id.
 */
export function requestId(req: IncomingMessage): string {
  const raw = req as IncomingMessage & { id?: unknown };
  if (typeof raw.id === 'string') return raw.id;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  raw.id = id;
  return id;
}

/**
 * Nest's own start-up lines (a module initialised, each route and WebSocket
 * message mapped: about 85 of them) are logged at debug: at the default level
 * a start says what a user needs (where it listens, what failed).
 */
const FRAMEWORK_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication', 'WebSocketsController', 'NestMicroservice']);

/** nestjs-pino options: JSON lines, request ids, secrets redacted. */
export function loggerParams(config: NinefoldConfig, app: 'api' | 'worker'): Params {
  return {
    // Heartbeats are the hottest route (100,000s a second): no per-request logger for them; their errors are still logged.
    exclude: [{ method: RequestMethod.POST, path: 'api/v1/heartbeats' }],
    pinoHttp: {
      level: config.LOG_LEVEL,
      base: { app, pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      genReqId: requestId,
      autoLogging: config.LOG_REQUESTS ? { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' } : false,
      customProps: () => ({}),
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      quietReqLogger: true,
      hooks: {
        logMethod(args, method, level) {
          const context = (args[0] as { context?: unknown } | undefined)?.context;
          if (level === 30 && typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
            if (this.isLevelEnabled('debug')) (this.debug as (...a: unknown[]) => void)(...args);
            return;
          }
          method.apply(this, args);
        },
      },
    },
  };
}
