import { ConfigError, EnvironmentVariables, loadConfig } from './env.schema.js';

const DB = 'postgres://ninefold:pw@localhost:5432/ninefold';
const REDIS = 'redis://localhost:6379/0';
const valid = { DATABASE_URL: DB, REDIS_URL: REDIS };

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig', () => {
  it('returns typed values and defaults for a minimal valid env', () => {
    const c = loadConfig(valid);
    expect(c.DATABASE_URL).toBe(DB);
    expect(c.REDIS_URL).toBe(REDIS);
    expect(c.PORT).toBe(3000);
    expect(c.HOST).toBe('0.0.0.0');
    expect(c.BODY_LIMIT_BYTES).toBe(1048576);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.LOG_REQUESTS).toBe(true);
    expect(c.NINEFOLD_MIGRATE_ON_START).toBe(true);
    expect(c.NINEFOLD_REDIS_PREFIX).toBe('nf');
    expect(c.NINEFOLD_ADMIN_KEY).toBeUndefined();
    expect(c.KEY_CACHE_TTL_SECONDS).toBe(60);
    expect(c.LEADER_LEASE_MS).toBe(5000);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('converts numbers and log level from strings', () => {
    const c = loadConfig({ ...valid, PORT: '8080', BODY_LIMIT_BYTES: '2048', LOG_LEVEL: 'debug', SHUTDOWN_GRACE_SECONDS: '0' });
    expect(c.PORT).toBe(8080);
    expect(c.BODY_LIMIT_BYTES).toBe(2048);
    expect(c.LOG_LEVEL).toBe('debug');
    expect(c.SHUTDOWN_GRACE_SECONDS).toBe(0);
  });

  it.each([
    ['true', true], ['TRUE', true], ['1', true], ['yes', true], ['on', true],
    ['false', false], ['0', false], ['no', false], ['Off', false], [' false ', false],
  ])('parses boolean %j as %j', (raw, expected) => {
    const c = loadConfig({ ...valid, LOG_REQUESTS: raw, NINEFOLD_MIGRATE_ON_START: raw });
    expect(c.LOG_REQUESTS).toBe(expected);
    expect(c.NINEFOLD_MIGRATE_ON_START).toBe(expected);
  });

  it('rejects a boolean it cannot read', () => {
    expect(configError({ ...valid, LOG_REQUESTS: 'maybe' }).message).toContain('LOG_REQUESTS');
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ ...valid, PORT: '', LOG_LEVEL: '', LOG_REQUESTS: '', BODY_LIMIT_BYTES: '', NINEFOLD_ADMIN_KEY: '' });
    expect(c.PORT).toBe(3000);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.LOG_REQUESTS).toBe(true);
    expect(c.BODY_LIMIT_BYTES).toBe(1048576);
    expect(c.NINEFOLD_ADMIN_KEY).toBeUndefined();
    expect(configError({ ...valid, DATABASE_URL: '' }).message).toMatch(/DATABASE_URL=\(unset\)/);
  });

  it('keeps an admin key that is long enough', () => {
    const key = 'k'.repeat(24);
    expect(loadConfig({ ...valid, NINEFOLD_ADMIN_KEY: key }).NINEFOLD_ADMIN_KEY).toBe(key);
  });

  it('names every bad variable and hides secret values', () => {
    const secrets = {
      DATABASE_URL: 'mysql://dbuser:db-s3cret-pw@db.internal/ninefold',
      NINEFOLD_ADMIN_KEY: 'adm1n-s3cret-sh0rt',
    };
    const err = configError({
      PORT: 'abc',
      DATABASE_URL: secrets.DATABASE_URL,
      LOG_LEVEL: 'loud',
      NINEFOLD_ADMIN_KEY: secrets.NINEFOLD_ADMIN_KEY,
      HOME: '/home/someone',
    });
    expect(err.name).toBe('ConfigError');
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'NINEFOLD_ADMIN_KEY']) {
      expect(err.message).toContain(name);
      expect(err.problems.some((p) => p.startsWith(`${name}=`))).toBe(true);
    }
    expect(err.problems).toHaveLength(5);
    expect(err.message).toContain('REDIS_URL=(unset)');
    expect(err.message).toContain('DATABASE_URL=(hidden)');
    expect(err.message).toContain('NINEFOLD_ADMIN_KEY=(hidden)');
    expect(err.message).toContain('"abc"');
    expect(err.message).toContain('"loud"');
    for (const s of [...Object.values(secrets), 'db-s3cret-pw', 'mysql://', 'adm1n']) {
      expect(err.message).not.toContain(s);
      expect(err.problems.join('\n')).not.toContain(s);
    }
    expect(err.message).not.toContain('HOME');
  });

  it('hides a set but invalid REDIS_URL', () => {
    const err = configError({ ...valid, REDIS_URL: 'memcached://user:r3dis-pw@cache' });
    expect(err.message).toContain('REDIS_URL=(hidden)');
    expect(err.message).not.toContain('r3dis-pw');
  });

  it('returns only its own variables, never the rest of the environment', () => {
    const c = loadConfig({ ...valid, HOME: '/root', PATH: '/usr/bin', AWS_SECRET_ACCESS_KEY: 'x' });
    const known = new Set([...Object.keys(new EnvironmentVariables()), 'DATABASE_URL', 'REDIS_URL', 'NINEFOLD_ADMIN_KEY']);
    expect('HOME' in c).toBe(false);
    expect('PATH' in c).toBe(false);
    expect('AWS_SECRET_ACCESS_KEY' in c).toBe(false);
    for (const key of Object.keys(c)) expect(known.has(key)).toBe(true);
  });
});
