/**
 * What went wrong, in the terms of the contract. Each code maps to one HTTP
 * status in the api's exception filter; libs never speak HTTP themselves.
 */
export const ErrorCode = {
  Invalid: 'invalid',
  Unauthenticated: 'unauthenticated',
  Forbidden: 'forbidden',
  NotFound: 'not_found',
  Conflict: 'conflict',
  TooLarge: 'too_large',
  RateLimited: 'rate_limited',
  Unavailable: 'unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string | string[],
    /** For `rate_limited` and `unavailable`: seconds until a retry may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(Array.isArray(message) ? message.join('; ') : message);
    this.name = 'DomainError';
    this.details = Array.isArray(message) ? message : undefined;
  }
  readonly details?: string[];
}

/** A dependency (Postgres, Redis) did not answer: maps to 503 with Retry-After. */
export class DependencyUnavailableError extends DomainError {
  constructor(readonly dependency: 'postgres' | 'redis', cause?: unknown) {
    super(ErrorCode.Unavailable, `${dependency} is unavailable; retry shortly`, 5);
    this.cause = cause;
  }
}
