import { Prisma } from '../database/generated/client.js';
import { DependencyUnavailableError } from './domain-error.js';

export type Dependency = 'postgres' | 'redis';

/** Where each dependency listens, so that a bare socket error can be told apart by its endpoint. */
export interface DependencyEndpoints {
  postgres?: string;
  redis?: string;
}

const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
const DEFAULT_PORT: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'rediss:': 6379 };

/** The endpoints of DATABASE_URL and REDIS_URL, for {@link unavailableDependency}. */
export function dependencyEndpoints(databaseUrl: string, redisUrl: string): DependencyEndpoints {
  return { postgres: endpointOf(databaseUrl), redis: endpointOf(redisUrl) };
}

/**
 * Which dependency an error says is down (network-level failures of pg,
 * Prisma's adapter or ioredis), or null when the error is something else.
 * Such errors become 503 with Retry-After, never 500.
 *
 * Errors that name their library (Prisma, the pg adapter, ioredis) are
 * classified by that. A bare socket error (`connect ECONNREFUSED host:port`)
 * could come from either client, so it is classified by the endpoint it was
 * trying to reach; one that matches neither endpoint is not ours to explain.
 */
export function unavailableDependency(err: unknown, endpoints: DependencyEndpoints = {}): Dependency | null {
  if (err instanceof DependencyUnavailableError) return err.dependency;
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: unknown; cause?: unknown };
  if (err instanceof Prisma.PrismaClientInitializationError) return 'postgres';
  if (err instanceof Prisma.PrismaClientKnownRequestError && PRISMA_CONNECTION_CODES.has(err.code)) return 'postgres';
  if (e.name === 'DriverAdapterError' || /Can't reach database|Connection terminated|timeout exceeded when trying to connect/i.test(e.message)) return 'postgres';
  // "Command timed out": ioredis's commandTimeout (REDIS_COMMAND_TIMEOUT_MS), a stalled Redis.
  if (e.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries|^Command timed out$/i.test(e.message)) return 'redis';
  const socket = socketEndpoint(e);
  if (socket) return dependencyAt(socket, endpoints);
  if (e.cause) return unavailableDependency(e.cause, endpoints);
  return null;
}

interface Endpoint {
  host: string;
  port: number;
}

function endpointOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : DEFAULT_PORT[u.protocol];
    return port ? `${u.hostname.replace(/^\[|\]$/g, '')}:${port}` : undefined;
  } catch {
    return undefined;
  }
}

/** The endpoint a Node.js socket error was about, from its fields or, failing that, its message. */
function socketEndpoint(e: Error & { code?: unknown; address?: unknown; port?: unknown }): Endpoint | null {
  const code = typeof e.code === 'string' ? e.code : /\b(E[A-Z_]+)\b/.exec(e.message)?.[1];
  if (!code || !SOCKET_ERROR_CODES.has(code)) return null;
  if (typeof e.port === 'number') return { host: typeof e.address === 'string' ? e.address : '', port: e.port };
  const m = /\bE[A-Z_]+\s+\[?(\S*?)\]?:(\d+)(?:\s|$)/.exec(e.message);
  return m ? { host: m[1], port: Number(m[2]) } : { host: '', port: 0 };
}

function dependencyAt(socket: Endpoint, endpoints: DependencyEndpoints): Dependency | null {
  const candidates = (Object.entries(endpoints) as [Dependency, string | undefined][])
    .filter((entry): entry is [Dependency, string] => entry[1] !== undefined)
    .map(([dep, at]) => ({ dep, host: at.slice(0, at.lastIndexOf(':')), port: Number(at.slice(at.lastIndexOf(':') + 1)) }))
    .filter((c) => c.port === socket.port);
  if (candidates.length === 1) return candidates[0].dep;
  // Both on one port (different hosts): the host decides, when the error names one we know.
  const byHost = candidates.filter((c) => c.host === socket.host);
  return byHost.length === 1 ? byHost[0].dep : null;
}
