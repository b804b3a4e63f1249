import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentConfigError, type ConfigFlags, DEFAULT_GOSSIP_PORT, DEFAULT_INTAKE_PORT, loadConfig, nameFromHostname } from './config.js';

// loadConfig reads the config and key files itself, so this spec writes real
// temporary files (the one place the agent's unit tests touch the disk).
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ninefold-agent-config-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let fileNo = 0;
/** Writes a temporary file and returns its path. */
function write(ext: string, text: string): string {
  const file = path.join(dir, `f${++fileNo}${ext}`);
  fs.writeFileSync(file, text);
  return file;
}

/** The smallest environment that makes a valid configuration. */
const MIN_ENV = { NINEFOLD_URL: 'https://cp.example.com', NINEFOLD_KEY: 'nf_agent_key', NINEFOLD_SERVICES: 'web' };

/** The problems loadConfig reports; fails the test when it does not throw. */
function problemsOf(flags: ConfigFlags, env: NodeJS.ProcessEnv, hostname = 'host-1'): string[] {
  try {
    loadConfig(flags, env, hostname);
  } catch (err) {
    if (err instanceof AgentConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected an AgentConfigError');
}

describe('loadConfig: defaults', () => {
  it('fills every setting the environment leaves out', () => {
    const cfg = loadConfig({}, { ...MIN_ENV, NINEFOLD_URL: 'https://cp.example.com///' }, 'Web-01.Example.COM');
    expect(cfg).toEqual({
      url: 'https://cp.example.com',
      key: 'nf_agent_key',
      instance: 'web-01.example.com',
      services: [{ name: 'web', intervalSeconds: 10, checks: [] }],
      intake: { enabled: true, host: '127.0.0.1', port: 7070, slowCallDurationMs: 200, slowRequestDurationMs: 1000, latencyBucketsMs: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
      prober: { enabled: false, waitSeconds: 20, concurrency: 10 },
      buffer: { maxEntries: 10_000 },
      gossip: { peers: [], host: '0.0.0.0', port: 7946, group: 'default', syncIntervalSeconds: 1 },
      deregisterOnExit: false,
      requestTimeoutMs: 10_000,
      logLevel: 'info',
    });
    expect(DEFAULT_INTAKE_PORT).toBe(7070);
    expect(DEFAULT_GOSSIP_PORT).toBe(7946);
  });

  it('makes the instance id from the hostname, as nameFromHostname does', () => {
    expect(nameFromHostname('web-01.example.com')).toBe('web-01.example.com');
    expect(nameFromHostname('WEB_01')).toBe('web_01');
    expect(nameFromHostname('My Laptop (2)')).toBe('my-laptop--2-');
    expect(nameFromHostname('--_.host')).toBe('host');
    expect(nameFromHostname('x'.repeat(100))).toBe('x'.repeat(63));
    expect(loadConfig({}, MIN_ENV, 'WEB_01').instance).toBe('web_01');
    expect(loadConfig({}, MIN_ENV, 'My Laptop (2)').instance).toBe('my-laptop--2-');
  });

  it('says so when the hostname cannot make an instance id, and a set instance needs no hostname', () => {
    expect(problemsOf({}, MIN_ENV, '---')).toEqual(['instance: the hostname "---" does not make a valid instance id; set instance, NINEFOLD_INSTANCE or --instance']);
    expect(loadConfig({}, { ...MIN_ENV, NINEFOLD_INSTANCE: 'i-7' }, '---').instance).toBe('i-7');
  });

  it('ignores empty environment variables', () => {
    const cfg = loadConfig({}, { ...MIN_ENV, NINEFOLD_ZONE: '', NINEFOLD_INTAKE_PORT: '', NINEFOLD_PROBER: '' }, 'h');
    expect(cfg.zone).toBeUndefined();
    expect(cfg.intake.port).toBe(7070);
    expect(cfg.prober.enabled).toBe(false);
  });
});

describe('loadConfig: precedence (flags over environment over file, setting by setting)', () => {
  const fileText = [
    'url: https://file.example.com',
    'key: file-key',
    'instance: file-instance',
    'zone: zone-file',
    'region: region-file',
    'address: 10.0.0.1',
    'services: [web]',
    'intake: { host: 0.0.0.0, port: 7001 }',
    'buffer: { maxEntries: 500 }',
    'gossip: { peers: ["p1:7946"], port: 8000 }',
    'deregisterOnExit: false',
    'logLevel: debug',
    'prober: { enabled: true }',
    '',
  ].join('\n');

  it('takes each setting from the highest layer that gives it', () => {
    const file = write('.yaml', fileText);
    const cfg = loadConfig(
      { config: file, url: 'https://flag.example.com', region: 'region-flag', 'intake-port': '7003' },
      { NINEFOLD_URL: 'https://env.example.com', NINEFOLD_ZONE: 'zone-env', NINEFOLD_INTAKE_PORT: '7002', NINEFOLD_BUFFER_MAX: '600', NINEFOLD_DEREGISTER_ON_EXIT: 'true' },
      'host-1',
    );
    expect(cfg).toMatchObject({
      url: 'https://flag.example.com', // flag > env > file
      key: 'file-key', // file only
      instance: 'file-instance',
      zone: 'zone-env', // env > file
      region: 'region-flag', // flag > file
      address: '10.0.0.1',
      services: [{ name: 'web', intervalSeconds: 10, checks: [] }],
      intake: { host: '0.0.0.0', port: 7003 }, // host from the file, port from the flag
      buffer: { maxEntries: 600 },
      gossip: { peers: ['p1:7946'], port: 8000 },
      deregisterOnExit: true,
      logLevel: 'debug',
      prober: { enabled: true },
    });
  });

  it('lets the environment override the file and flags override the environment for the same setting', () => {
    const file = write('.yaml', fileText);
    const env = { NINEFOLD_CONFIG: file, NINEFOLD_LOG_LEVEL: 'warn', NINEFOLD_INTAKE_HOST: '127.0.0.2', NINEFOLD_PEERS: 'e1:1, e2:2', NINEFOLD_GOSSIP_PORT: '8001', NINEFOLD_PROBER: 'no', NINEFOLD_INSTANCE: 'env-instance' };
    const fromEnv = loadConfig({}, env, 'h');
    expect(fromEnv).toMatchObject({ logLevel: 'warn', instance: 'env-instance', intake: { host: '127.0.0.2', port: 7001 }, gossip: { peers: ['e1:1', 'e2:2'], port: 8001 }, prober: { enabled: false } });

    const fromFlags = loadConfig({ 'log-level': 'error', 'intake-host': '127.0.0.3', peers: 'f1:1', 'gossip-port': '8002', prober: true, instance: 'flag-instance', 'buffer-max': '7' }, env, 'h');
    expect(fromFlags).toMatchObject({ logLevel: 'error', instance: 'flag-instance', intake: { host: '127.0.0.3' }, gossip: { peers: ['f1:1'], port: 8002 }, prober: { enabled: true }, buffer: { maxEntries: 7 } });
  });

  it('takes the config file from --config before NINEFOLD_CONFIG', () => {
    const a = write('.yaml', 'url: https://a.example.com\nkey: k\nservices: [web]\n');
    const b = write('.yaml', 'url: https://b.example.com\nkey: k\nservices: [web]\n');
    expect(loadConfig({ config: a }, { NINEFOLD_CONFIG: b }, 'h').url).toBe('https://a.example.com');
    expect(loadConfig({}, { NINEFOLD_CONFIG: b }, 'h').url).toBe('https://b.example.com');
  });

  it('replaces the file services wholesale with --service or NINEFOLD_SERVICES (flags first)', () => {
    const file = write('.yaml', 'url: https://x.example.com\nkey: k\nservices: [{ name: web, port: 80 }, api]\n');
    expect(loadConfig({ config: file }, {}, 'h').services.map((s) => s.name)).toEqual(['web', 'api']);
    expect(loadConfig({ config: file }, { NINEFOLD_SERVICES: 'db' }, 'h').services.map((s) => s.name)).toEqual(['db']);
    expect(loadConfig({ config: file, service: ['cache:6379'] }, { NINEFOLD_SERVICES: 'db' }, 'h').services).toEqual([{ name: 'cache', port: 6379, intervalSeconds: 10, checks: [] }]);
  });

  it('turns the intake off with --no-intake whatever the file says', () => {
    const file = write('.yaml', 'url: https://x.example.com\nkey: k\nservices: [web]\nintake: { enabled: true }\n');
    expect(loadConfig({ config: file }, {}, 'h').intake.enabled).toBe(true);
    expect(loadConfig({ config: file, 'no-intake': true }, {}, 'h').intake.enabled).toBe(false);
    const off = write('.yaml', 'url: https://x.example.com\nkey: k\nservices: [web]\nintake: { enabled: false }\n');
    expect(loadConfig({ config: off }, {}, 'h').intake.enabled).toBe(false);
  });
});

describe('loadConfig: the key and the key file are one setting', () => {
  const base = { NINEFOLD_URL: 'https://cp.example.com', NINEFOLD_SERVICES: 'web' };

  it('reads (and trims) a key file', () => {
    const keyFile = write('.key', '  nf_from_file \n');
    expect(loadConfig({ 'key-file': keyFile }, base, 'h').key).toBe('nf_from_file');
    expect(loadConfig({}, { ...base, NINEFOLD_KEY_FILE: keyFile }, 'h').key).toBe('nf_from_file');
    const cfgFile = write('.yaml', `keyFile: ${keyFile}\n`);
    expect(loadConfig({ config: cfgFile }, base, 'h').key).toBe('nf_from_file');
  });

  it('lets the first layer that gives either the key or the key file win', () => {
    const keyFile = write('.key', 'nf_from_file');
    const cfgWithKeyFile = write('.yaml', `keyFile: ${keyFile}\n`);
    const cfgWithKey = write('.yaml', 'key: nf_file_key\n');
    // A key in the environment beats a key file in the config file …
    expect(loadConfig({ config: cfgWithKeyFile }, { ...base, NINEFOLD_KEY: 'nf_env' }, 'h').key).toBe('nf_env');
    // … and a key file in the environment beats a key in the config file.
    expect(loadConfig({ config: cfgWithKey }, { ...base, NINEFOLD_KEY_FILE: keyFile }, 'h').key).toBe('nf_from_file');
    // A --key-file beats NINEFOLD_KEY; a --key beats NINEFOLD_KEY_FILE.
    expect(loadConfig({ 'key-file': keyFile }, { ...base, NINEFOLD_KEY: 'nf_env' }, 'h').key).toBe('nf_from_file');
    expect(loadConfig({ key: 'nf_flag' }, { ...base, NINEFOLD_KEY_FILE: keyFile }, 'h').key).toBe('nf_flag');
    // Within one layer the key itself wins over the file.
    expect(loadConfig({}, { ...base, NINEFOLD_KEY: 'nf_env', NINEFOLD_KEY_FILE: keyFile }, 'h').key).toBe('nf_env');
  });

  it('does not fall back to a lower layer when the winning key file is unreadable or empty', () => {
    const missing = path.join(dir, 'no-such.key');
    expect(problemsOf({ 'key-file': missing }, { ...base, NINEFOLD_KEY: 'nf_env' })).toEqual([`--key-file (command line): cannot read ${missing} (ENOENT)`]);
    const empty = write('.key', '\n  \n');
    expect(problemsOf({}, { ...base, NINEFOLD_KEY_FILE: empty })).toEqual([`NINEFOLD_KEY_FILE (environment): the file ${empty} is empty`]);
    const cfg = write('.yaml', `keyFile: ${missing}\n`);
    expect(problemsOf({ config: cfg }, base)).toEqual([`keyFile (config file): cannot read ${missing} (ENOENT)`]);
  });

  it('rejects an empty or non-string key and reports a missing one', () => {
    const cfg = write('.yaml', 'key: 42\n');
    expect(problemsOf({ config: cfg }, base)).toEqual(['key (config file): must be a non-empty API key']);
    expect(problemsOf({ key: '   ' }, base)).toEqual(['--key (command line): must be a non-empty API key']);
    expect(problemsOf({}, base)).toEqual(['key: missing; set key (or keyFile) in the config file, NINEFOLD_KEY (or NINEFOLD_KEY_FILE) or --key (an API key with the agent role)']);
  });
});

describe('loadConfig: YAML and JSON files', () => {
  const settings = {
    url: 'https://cp.example.com/',
    key: 'nf_k',
    zone: 'eu-1a',
    region: 'eu-1',
    services: [
      'worker',
      {
        name: 'web',
        port: 8080,
        intervalSeconds: 5,
        checks: [
          { type: 'http', target: 'http://127.0.0.1:8080/health', expectStatus: 204, onFail: 'degraded' },
          { type: 'tcp', target: '[::1]:5432', timeoutMs: 300 },
        ],
      },
    ],
    intake: { port: 0, slowCallDurationMs: 150, slowRequestDurationMs: 900, latencyBucketsMs: [300, 100, 2.5] },
    prober: { waitSeconds: 30, concurrency: 4 },
    gossip: { peers: ['10.0.0.2:7946'], host: '10.0.0.1', group: 'blue', secret: 's3cret' },
    requestTimeoutMs: 2500,
    deregisterOnExit: 'yes',
  };
  const yaml = `# ninefold-agent
url: https://cp.example.com/
key: nf_k
zone: eu-1a
region: eu-1
services:
  - worker
  - name: web
    port: 8080
    intervalSeconds: 5
    checks:
      - type: http
        target: http://127.0.0.1:8080/health
        expectStatus: 204
        onFail: degraded
      - { type: tcp, target: "[::1]:5432", timeoutMs: 300 }
intake:
  port: 0
  slowCallDurationMs: 150
  slowRequestDurationMs: 900
  latencyBucketsMs: [300, 100, 2.5]
prober: { waitSeconds: 30, concurrency: 4 }
gossip:
  peers: [10.0.0.2:7946]
  host: 10.0.0.1
  group: blue
  secret: s3cret
requestTimeoutMs: 2500
deregisterOnExit: "yes"
`;
  const expected = {
    url: 'https://cp.example.com',
    key: 'nf_k',
    instance: 'h',
    zone: 'eu-1a',
    region: 'eu-1',
    services: [
      { name: 'worker', intervalSeconds: 10, checks: [] },
      {
        name: 'web',
        port: 8080,
        intervalSeconds: 5,
        checks: [
          { type: 'http', target: 'http://127.0.0.1:8080/health', timeoutMs: 2000, expectStatus: 204, onFail: 'degraded' },
          { type: 'tcp', target: '[::1]:5432', timeoutMs: 300, onFail: 'down' },
        ],
      },
    ],
    intake: { enabled: true, host: '127.0.0.1', port: 0, slowCallDurationMs: 150, slowRequestDurationMs: 900, latencyBucketsMs: [2.5, 100, 300] },
    prober: { enabled: false, waitSeconds: 30, concurrency: 4 },
    buffer: { maxEntries: 10_000 },
    gossip: { peers: ['10.0.0.2:7946'], host: '10.0.0.1', port: 7946, group: 'blue', secret: 's3cret', syncIntervalSeconds: 1 },
    deregisterOnExit: true,
    requestTimeoutMs: 2500,
    logLevel: 'info',
  };

  it('reads a YAML file', () => {
    expect(loadConfig({ config: write('.yaml', yaml) }, {}, 'h')).toEqual(expected);
  });

  it('reads a JSON file (and a .yml file holding JSON) to the same configuration', () => {
    expect(loadConfig({ config: write('.json', JSON.stringify(settings, null, 2)) }, {}, 'h')).toEqual(expected);
    expect(loadConfig({ config: write('.yml', JSON.stringify(settings)) }, {}, 'h')).toEqual(expected);
  });

  it('treats an empty file as no settings', () => {
    expect(loadConfig({ config: write('.yaml', '# nothing yet\n') }, MIN_ENV, 'h').url).toBe('https://cp.example.com');
  });
});

describe('loadConfig: a file that cannot be used gives exactly one problem', () => {
  // Environment problems too, to show they are not piled on top.
  const badEnv = { NINEFOLD_PROBER: 'maybe' };

  it('unreadable', () => {
    const missing = path.join(dir, 'missing.yaml');
    expect(problemsOf({ config: missing }, badEnv)).toEqual([`config file ${missing}: cannot be read (ENOENT)`]);
    expect(problemsOf({ config: dir }, badEnv)).toEqual([`config file ${dir}: cannot be read (EISDIR)`]);
  });

  it('invalid YAML', () => {
    const file = write('.yaml', 'url: https://x\nservices: [web\n');
    const problems = problemsOf({ config: file }, badEnv);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^config file ${escape(file)}: not valid YAML: \\S`));
  });

  it('invalid JSON', () => {
    const file = write('.json', '{ "url": "https://x", }');
    const problems = problemsOf({ config: file }, badEnv);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^config file ${escape(file)}: not valid JSON: \\S`));
  });

  it('not a mapping', () => {
    for (const text of ['- url: https://x\n', '42\n', '"just text"\n']) {
      const file = write('.yaml', text);
      expect(problemsOf({ config: file }, badEnv)).toEqual([`config file ${file}: must hold a mapping of settings (url, key, services, ...)`]);
    }
  });

  it('has a readable message listing the problems', () => {
    const missing = path.join(dir, 'missing.yaml');
    let error: unknown;
    try {
      loadConfig({ config: missing }, {}, 'h');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AgentConfigError);
    expect((error as AgentConfigError).name).toBe('AgentConfigError');
    expect((error as AgentConfigError).message).toBe(`invalid configuration:\n  - config file ${missing}: cannot be read (ENOENT)`);
  });
});

describe('loadConfig: every problem at once, each naming the setting and its source', () => {
  it('collects problems from the file, the environment and the flags together', () => {
    const file = write(
      '.yaml',
      [
        'urll: https://x.example.com',
        'colour: blue',
        'services:',
        '  - name: web',
        '    intervallSeconds: 5',
        '    port: 70000',
        'intake: { port: -1, slowCallDurationMs: 0, hots: x, latencyBucketsMs: [100, 100, 0.0001] }',
        'buffer: { maxEntries: "many" }',
        'prober: { enabled: perhaps }',
        'gossip: { peers: [ok:1, nope] }',
        'requestTimeoutMs: 5',
        '',
      ].join('\n'),
    );
    const problems = problemsOf({ config: file, interval: '0', 'log-level': 'loud' }, { NINEFOLD_KEY: 'k', NINEFOLD_DEREGISTER_ON_EXIT: 'sometimes', NINEFOLD_ZONE: 'Zone A' });
    expect(problems).toEqual(
      expect.arrayContaining([
        'NINEFOLD_DEREGISTER_ON_EXIT=sometimes (env): must be true or false',
        'urll (config file): unknown setting; did you mean url?',
        'colour (config file): unknown setting; known: url, key, keyFile, instance, zone, region, address, services, intake, prober, buffer, gossip, deregisterOnExit, requestTimeoutMs, logLevel',
        'url: missing; set url in the config file, NINEFOLD_URL or --url (e.g. https://ninefold.example.com)',
        `NINEFOLD_ZONE (environment): "Zone A" is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
        '--interval (command line): must be a whole number from 1 to 3600, got "0"',
        'services[0].intervallSeconds (config file): unknown setting; did you mean services[0].intervalSeconds?',
        'services[0].port (config file): must be a whole number from 1 to 65535, got 70000',
        'intake.hots (config file): unknown setting; did you mean intake.host?',
        'intake.port (config file): must be a whole number from 0 to 65535, got -1',
        'intake.slowCallDurationMs (config file): must be a whole number from 1 to 3600000, got 0',
        'intake.latencyBucketsMs (config file): must be a list of 1 to 64 distinct upper bounds in ms (above 0, at most 3600000, at most 3 decimals), e.g. [50, 100, 250, 500, 1000]',
        'buffer.maxEntries (config file): must be a whole number from 1 to 10000000, got "many"',
        'prober.enabled (config file): must be true or false, got "perhaps"',
        'gossip.peers[1] (config file): "nope" must be host:port',
        'requestTimeoutMs (config file): must be a whole number from 100 to 300000, got 5',
        '--log-level (command line): must be one of debug, info, warn, error',
      ]),
    );
    expect(problems).toHaveLength(17);
  });

  it('names the environment variable or the flag a bad value came from', () => {
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_INTAKE_PORT: '99999' })).toEqual(['NINEFOLD_INTAKE_PORT (environment): must be a whole number from 0 to 65535, got "99999"']);
    expect(problemsOf({ 'intake-port': 'x' }, MIN_ENV)).toEqual(['--intake-port (command line): must be a whole number from 0 to 65535, got "x"']);
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_URL: 'ftp://files.example.com' })).toEqual(['NINEFOLD_URL (environment): must be an http:// or https:// URL, got "ftp://files.example.com"']);
    expect(problemsOf({ url: 'not a url' }, MIN_ENV)).toEqual(['--url (command line): must be an http:// or https:// URL, got "not a url"']);
    expect(problemsOf({ instance: 'Bad_Instance' }, MIN_ENV)).toEqual([`--instance (command line): "Bad_Instance" is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`]);
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_BUFFER_MAX: '0' })).toEqual(['NINEFOLD_BUFFER_MAX (environment): must be a whole number from 1 to 10000000, got "0"']);
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_PEERS: 'a:1,b' })).toEqual(['NINEFOLD_PEERS (environment): "b" must be host:port']);
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_LOG_LEVEL: 'trace' })).toEqual(['NINEFOLD_LOG_LEVEL (environment): must be one of debug, info, warn, error']);
    expect(problemsOf({ 'gossip-port': '70000' }, MIN_ENV)).toEqual(['--gossip-port (command line): must be a whole number from 0 to 65535, got "70000"']);
  });

  it('names the config file setting, with its path inside lists', () => {
    const file = write('.yaml', 'url: https://x.example.com\nkey: k\naddress: ""\nzone: 5\nintake: [1]\ngossip: { group: "" }\nservices: { web: 1 }\n');
    expect(problemsOf({ config: file }, {})).toEqual([
      `zone (config file): "5" is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
      'address (config file): must be a host name or IP address',
      'services (config file): must be a list of services, e.g. [{ name: web, port: 8080 }]',
      'intake (config file): must be a mapping',
      'gossip.group (config file): must be a non-empty string',
      'services: none configured and not a prober; list at least one service (services in the config file, NINEFOLD_SERVICES or --service name[:port]) or run with --prober',
    ]);
  });
});

describe('loadConfig: services from NINEFOLD_SERVICES and --service', () => {
  it('reads name[:port] items separated by commas, with the default interval', () => {
    const cfg = loadConfig({}, { ...MIN_ENV, NINEFOLD_SERVICES: 'a:80, b ,,c:8080', NINEFOLD_INTERVAL_SECONDS: '30' }, 'h');
    expect(cfg.services).toEqual([
      { name: 'a', port: 80, intervalSeconds: 30, checks: [] },
      { name: 'b', intervalSeconds: 30, checks: [] },
      { name: 'c', port: 8080, intervalSeconds: 30, checks: [] },
    ]);
  });

  it('takes repeated --service flags and --interval', () => {
    const cfg = loadConfig({ service: ['web:8080', 'api'], interval: '15' }, { NINEFOLD_URL: 'https://x.example.com', NINEFOLD_KEY: 'k' }, 'h');
    expect(cfg.services).toEqual([
      { name: 'web', port: 8080, intervalSeconds: 15, checks: [] },
      { name: 'api', intervalSeconds: 15, checks: [] },
    ]);
  });

  it('names the variable or flag of a bad name or port', () => {
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_SERVICES: 'a:0,Bad' })).toEqual([
      'NINEFOLD_SERVICES (environment): port of a: must be a whole number from 1 to 65535, got "0"',
      `NINEFOLD_SERVICES (environment): "Bad": "Bad" is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
    ]);
    expect(problemsOf({ service: ['web:http'] }, MIN_ENV)).toEqual(['--service (command line): port of web: must be a whole number from 1 to 65535, got "http"']);
  });

  it('rejects a service listed twice', () => {
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_SERVICES: 'web:80,api,web:81' })).toEqual(['NINEFOLD_SERVICES (environment): web is listed twice']);
    expect(problemsOf({ service: ['api', 'api'] }, MIN_ENV)).toEqual(['--service (command line): api is listed twice']);
  });
});

describe('loadConfig: booleans from the environment', () => {
  it.each([
    ['yes', true],
    ['YES', true],
    ['on', true],
    ['1', true],
    ['true', true],
    [' True ', true],
    ['no', false],
    ['off', false],
    ['0', false],
    ['FALSE', false],
  ])('NINEFOLD_PROBER=%j → %s', (value, expected) => {
    const cfg = loadConfig({}, { ...MIN_ENV, NINEFOLD_PROBER: value, NINEFOLD_DEREGISTER_ON_EXIT: value }, 'h');
    expect(cfg.prober.enabled).toBe(expected);
    expect(cfg.deregisterOnExit).toBe(expected);
  });

  it('rejects anything else, naming the variable and the value', () => {
    expect(problemsOf({}, { ...MIN_ENV, NINEFOLD_PROBER: 'y' })).toEqual(['NINEFOLD_PROBER=y (env): must be true or false']);
  });

  it('lets NINEFOLD_PROBER=no switch off a prober the file switches on', () => {
    const file = write('.yaml', 'prober: { enabled: true }\n');
    expect(loadConfig({ config: file }, MIN_ENV, 'h').prober.enabled).toBe(true);
    expect(loadConfig({ config: file }, { ...MIN_ENV, NINEFOLD_PROBER: 'no' }, 'h').prober.enabled).toBe(false);
  });
});

describe('loadConfig: services and probers', () => {
  const noServices = { NINEFOLD_URL: 'https://x.example.com', NINEFOLD_KEY: 'k' };

  it('lets a prober run without services', () => {
    expect(loadConfig({}, { ...noServices, NINEFOLD_PROBER: 'yes' }, 'h')).toMatchObject({ services: [], prober: { enabled: true } });
    expect(loadConfig({ prober: true }, noServices, 'h').services).toEqual([]);
  });

  it('needs at least one service otherwise', () => {
    expect(problemsOf({}, noServices)).toEqual([
      'services: none configured and not a prober; list at least one service (services in the config file, NINEFOLD_SERVICES or --service name[:port]) or run with --prober',
    ]);
  });
});

describe('loadConfig: services and checks in the file', () => {
  const head = 'url: https://x.example.com\nkey: k\n';
  const fileProblems = (body: string) => problemsOf({ config: write('.yaml', head + body) }, {});

  it('needs a URL for an http check', () => {
    expect(fileProblems('services:\n  - name: web\n    checks: [{ type: http, target: "localhost:8080" }]\n')).toEqual([
      'services[0].checks[0].target (config file): an http check needs an http:// or https:// URL, got "localhost:8080"',
    ]);
    expect(fileProblems('services:\n  - name: web\n    checks: [{ type: http }]\n')).toEqual(['services[0].checks[0].target (config file): missing; an http(s):// URL']);
  });

  it('needs host:port for a tcp check', () => {
    expect(fileProblems('services:\n  - name: web\n    checks: [{ type: tcp, target: localhost }, { type: tcp, target: "db:0" }, { type: tcp, target: "http://db:5432" }]\n')).toEqual([
      'services[0].checks[0].target (config file): a tcp check needs host:port, got "localhost"',
      'services[0].checks[1].target (config file): a tcp check needs host:port, got "db:0"',
      'services[0].checks[2].target (config file): a tcp check needs host:port, got "http://db:5432"',
    ]);
    expect(fileProblems('services:\n  - name: web\n    checks: [{ type: tcp }]\n')).toEqual(['services[0].checks[0].target (config file): missing; host:port']);
  });

  it('checks the type, timeout (within the interval), expected status and onFail', () => {
    expect(
      fileProblems(
        'services:\n  - name: web\n    intervalSeconds: 1\n    checks:\n      - { type: udp, target: "a:1" }\n      - { type: tcp, target: "a:1", timeoutMs: 1001, expectStatus: 99, onFail: explode, retries: 3 }\n      - oops\n',
      ),
    ).toEqual([
      'services[0].checks[0].type (config file): must be http or tcp, got "udp"',
      'services[0].checks[1].retries (config file): unknown setting; known: type, target, timeoutMs, expectStatus, onFail',
      'services[0].checks[1].timeoutMs (config file): must be a whole number from 50 to 1000, got 1001',
      'services[0].checks[1].expectStatus (config file): must be a whole number from 100 to 599, got 99',
      'services[0].checks[1].onFail (config file): must be down or degraded',
      'services[0].checks[2] (config file): must be a mapping { type, target, ... }',
    ]);
  });

  it('defaults a check timeout to 2 s, or half the interval when that is shorter', () => {
    const cfg = loadConfig({ config: write('.yaml', `${head}services:\n  - { name: a, intervalSeconds: 1, checks: [{ type: tcp, target: "a:1" }] }\n  - { name: b, checks: [{ type: tcp, target: "b:1" }] }\n`) }, {}, 'h');
    expect(cfg.services.map((s) => s.checks[0].timeoutMs)).toEqual([500, 2000]);
  });

  it('rejects duplicate service names, missing or invalid names, and non-mapping items', () => {
    expect(fileProblems('services: [web, api, { name: web, port: 81 }, { port: 1 }, { name: Web }, 7]\n')).toEqual([
      'services[2].name (config file): web is listed twice',
      'services[3].name (config file): missing',
      `services[4].name (config file): "Web" is not a valid name: lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters`,
      'services[5] (config file): must be a mapping with at least a name',
    ]);
  });

  it('rejects checks that are not a list', () => {
    expect(fileProblems('services: [{ name: web, checks: { type: tcp } }]\n')).toEqual(['services[0].checks (config file): must be a list']);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
