import { Prisma } from '../database/generated/client.js';
import { DependencyUnavailableError } from './domain-error.js';

const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/**
 * Which dependency an error says is down (network-level failures of pg,
 * Prisma's adapter or ioredis), or null when the error is something else.
 * Such errors become 503 with Retry-After, never 500.
 */
export function unavailableDependency(err: unknown): 'postgres' | 'redis' | null {
  if (err instanceof DependencyUnavailableError) return err.dependency;
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: string; cause?: unknown };
  if (err instanceof Prisma.PrismaClientInitializationError) return 'postgres';
  if (err instanceof Prisma.PrismaClientKnownRequestError && PRISMA_CONNECTION_CODES.has(err.code)) return 'postgres';
  if (e.name === 'DriverAdapterError' || /Can't reach database|Connection terminated|timeout exceeded when trying to connect|ECONNREFUSED/i.test(e.message)) return 'postgres';
  if (e.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries/i.test(e.message)) return 'redis';
  if (e.cause) return unavailableDependency(e.cause);
  return null;
}
