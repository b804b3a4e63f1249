import { dependencyEndpoints, unavailableDependency } from './dependency-errors.js';
import { DependencyUnavailableError } from './domain-error.js';

function named(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

describe('unavailableDependency', () => {
  it('reads the dependency of a DependencyUnavailableError', () => {
    expect(unavailableDependency(new DependencyUnavailableError('redis'))).toBe('redis');
    expect(unavailableDependency(new DependencyUnavailableError('postgres'))).toBe('postgres');
  });

  it('recognises ioredis failures as redis', () => {
    expect(unavailableDependency(named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'))).toBe('redis');
    expect(unavailableDependency(named('MaxRetriesPerRequestError', 'anything'))).toBe('redis');
    expect(unavailableDependency(new Error('Connection is closed.'))).toBe('redis');
    expect(unavailableDependency(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('redis');
    // commandTimeout (REDIS_COMMAND_TIMEOUT_MS): a stalled Redis.
    expect(unavailableDependency(new Error('Command timed out'))).toBe('redis');
  });

  const endpoints = dependencyEndpoints('postgresql://u:p@127.0.0.1:55432/nf', 'redis://localhost:56379');

  it('recognises connection failures of pg as postgres', () => {
    expect(unavailableDependency(new Error('connect ECONNREFUSED 127.0.0.1:55432'), endpoints)).toBe('postgres');
    expect(unavailableDependency(new Error('Connection terminated unexpectedly'))).toBe('postgres');
    expect(unavailableDependency(named('DriverAdapterError', 'x'))).toBe('postgres');
  });

  it('tells a bare socket error apart by the endpoint it tried to reach', () => {
    const refused = (address: string, port: number) => Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), { code: 'ECONNREFUSED', syscall: 'connect', address, port });
    expect(unavailableDependency(refused('127.0.0.1', 56379), endpoints)).toBe('redis');
    expect(unavailableDependency(refused('127.0.0.1', 55432), endpoints)).toBe('postgres');
    expect(unavailableDependency(new Error('connect ECONNREFUSED ::1:56379'), endpoints)).toBe('redis');
    expect(unavailableDependency(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), endpoints)).toBeNull();
    // Someone else's endpoint (a probe target, a webhook) is not a dependency outage.
    expect(unavailableDependency(refused('10.0.0.9', 8080), endpoints)).toBeNull();
    // Default ports when the URL has none.
    const defaults = dependencyEndpoints('postgres://db.internal/nf', 'redis://cache.internal');
    expect(unavailableDependency(refused('10.1.1.1', 6379), defaults)).toBe('redis');
    expect(unavailableDependency(refused('10.1.1.2', 5432), defaults)).toBe('postgres');
  });

  it('uses the host when both dependencies share a port', () => {
    const shared = dependencyEndpoints('postgres://10.0.0.1:7000/nf', 'redis://10.0.0.2:7000');
    const refused = (address: string) => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', address, port: 7000 });
    expect(unavailableDependency(refused('10.0.0.1'), shared)).toBe('postgres');
    expect(unavailableDependency(refused('10.0.0.2'), shared)).toBe('redis');
    expect(unavailableDependency(refused('10.0.0.3'), shared)).toBeNull();
  });

  it('follows the cause chain', () => {
    const pg = new Error('connect ECONNREFUSED 127.0.0.1:55432');
    expect(unavailableDependency(new Error('query failed', { cause: pg }), endpoints)).toBe('postgres');
    const redis = named('MaxRetriesPerRequestError', 'max retries');
    expect(unavailableDependency(new Error('outer', { cause: new Error('middle', { cause: redis }) }))).toBe('redis');
    expect(unavailableDependency(new Error('outer', { cause: new TypeError('nope') }))).toBeNull();
  });

  it('returns null for anything else', () => {
    expect(unavailableDependency(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeNull();
    expect(unavailableDependency(new Error('boom'))).toBeNull();
    expect(unavailableDependency('connect ECONNREFUSED')).toBeNull();
    expect(unavailableDependency(null)).toBeNull();
    expect(unavailableDependency(undefined)).toBeNull();
  });
});
