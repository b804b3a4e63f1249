import { unavailableDependency } from './dependency-errors.js';
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
  });

  it('recognises connection failures of pg as postgres', () => {
    expect(unavailableDependency(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe('postgres');
    expect(unavailableDependency(new Error('Connection terminated unexpectedly'))).toBe('postgres');
    expect(unavailableDependency(named('DriverAdapterError', 'x'))).toBe('postgres');
  });

  it('follows the cause chain', () => {
    const pg = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    expect(unavailableDependency(new Error('query failed', { cause: pg }))).toBe('postgres');
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
