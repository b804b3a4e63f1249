import { randomUUID } from 'node:crypto';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { type DependencyEndpoints, DomainError, dependencyEndpoints, ErrorCode, InjectConfig, type NinefoldConfig, unavailableDependency } from '#core';
import type { FastifyReply, FastifyRequest } from 'fastify';

const STATUS_OF_CODE: Record<ErrorCode, number> = {
  [ErrorCode.Invalid]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.TooLarge]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Unavailable]: 503,
};

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  errorId?: string;
  requestId?: string;
}

/**
 * Every error a client can see goes through here and leaves as the contract's
 * JSON: `{ statusCode, error, message }`. 5xx are logged with an `errorId`
 * that the response carries; no stack trace ever reaches a client.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');
  private readonly endpoints: DependencyEndpoints;

  constructor(@InjectConfig() config: NinefoldConfig) {
    this.endpoints = dependencyEndpoints(config.DATABASE_URL, config.REDIS_URL);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    this.send(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>());
  }

  /** Answers `exception` as the contract's error JSON (also used by routes served outside Nest's pipeline). */
  send(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const { status, body, retryAfter } = this.toResponse(exception);
    body.requestId = String(request.id ?? '');
    if (status >= 500) {
      body.errorId = randomUUID();
      const log = status === 503 ? this.logger.warn.bind(this.logger) : this.logger.error.bind(this.logger);
      log({ errorId: body.errorId, requestId: body.requestId, method: request.method, url: request.url, err: exception instanceof Error ? { name: exception.name, message: exception.message, stack: exception.stack } : exception }, `${status} answering ${request.method} ${request.url}`);
    }
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private toResponse(exception: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
    if (exception instanceof DomainError) {
      const status = STATUS_OF_CODE[exception.code];
      return { status, body: { statusCode: status, error: REASON[status], message: exception.details ?? exception.message }, retryAfter: exception.retryAfterSeconds };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      const message = typeof res === 'string' ? res : ((res as { message?: string | string[] }).message ?? exception.message);
      return { status, body: { statusCode: status, error: REASON[status] ?? exception.name, message } };
    }
    // Errors Fastify raises before a handler runs (bad JSON, body too large, bad content type) carry their status.
    const fastifyStatus = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      const e = exception as Error & { code?: string };
      return { status: fastifyStatus, body: { statusCode: fastifyStatus, error: REASON[fastifyStatus] ?? 'Bad Request', message: clientMessage(e) } };
    }
    const dependency = unavailableDependency(exception, this.endpoints);
    if (dependency) {
      return { status: 503, body: { statusCode: 503, error: REASON[503], message: `${dependency} is unavailable; retry shortly` }, retryAfter: 5 };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { statusCode: 500, error: REASON[500], message: 'internal error; quote the errorId when reporting it' } };
  }
}

function clientMessage(e: Error & { code?: string }): string {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `malformed JSON body: ${e.message}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is larger than the limit (BODY_LIMIT_BYTES)';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json';
    default:
      return e.message;
  }
}
