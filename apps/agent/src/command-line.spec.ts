import { AGENT_KEY_PLACEHOLDER, agentArgs, agentCommand } from '../../dashboard/src/lib/agent-hint.js';
import { parseCommandLine } from './command-line.js';
import { loadConfig } from './config.js';

function parse(argv: string[]) {
  const r = parseCommandLine(argv);
  if ('error' in r) throw new Error(r.error);
  return r.values;
}

describe('the command line', () => {
  it('takes the dashboard\'s empty-state command as it is shown, and it checks the service', () => {
    const origin = 'http://127.0.0.1:3777';
    const text = agentCommand(origin);
    // The shown text is the tested arguments, the key passed in the environment.
    expect(text).toBe(`export NINEFOLD_KEY='${AGENT_KEY_PLACEHOLDER}'\nnpx ninefold-agent ${agentArgs(origin).join(' ')}`);
    const cfg = loadConfig(parse(agentArgs(origin)), { NINEFOLD_KEY: AGENT_KEY_PLACEHOLDER }, 'host-1');
    expect(cfg.url).toBe(origin);
    expect(cfg.services).toEqual([{ name: 'web', port: 8080, intervalSeconds: 10, checks: [{ type: 'http', target: 'http://127.0.0.1:8080/', timeoutMs: 2000, onFail: 'down' }] }]);
  });

  it('attaches each --check to the --service before it', () => {
    const values = parse(['--service', 'web:80', '--check', 'http://127.0.0.1/healthz', '--service', 'db', '--check', 'tcp://127.0.0.1:5432', '--check', 'https://db.local/']);
    expect(values.check).toEqual(['web=http://127.0.0.1/healthz', 'db=tcp://127.0.0.1:5432', 'db=https://db.local/']);
    const cfg = loadConfig({ ...values, url: 'http://cp:3000', key: 'k', interval: '1' }, {}, 'h');
    expect(cfg.services.map((s) => [s.name, s.checks.map((c) => `${c.type} ${c.target} ${c.timeoutMs}`)])).toEqual([
      ['web', ['http http://127.0.0.1/healthz 500']],
      ['db', ['tcp 127.0.0.1:5432 500', 'http https://db.local/ 500']],
    ]);
  });

  it('takes checks from NINEFOLD_CHECKS, as service=target', () => {
    const cfg = loadConfig({}, { NINEFOLD_URL: 'http://cp:3000', NINEFOLD_KEY: 'k', NINEFOLD_SERVICES: 'web:80,db', NINEFOLD_CHECKS: 'web=http://127.0.0.1/,db=tcp://127.0.0.1:5432' }, 'h');
    expect(cfg.services.map((s) => s.checks.map((c) => c.target))).toEqual([['http://127.0.0.1/'], ['127.0.0.1:5432']]);
  });

  it('names a bad check, and one before any --service', () => {
    expect(parseCommandLine(['--check', 'http://x/'])).toEqual({ error: expect.stringMatching(/^--check http:\/\/x\/ must come after the --service it checks/) });
    expect(() => loadConfig({ ...parse(['--service', 'web', '--check', 'ftp://x']), url: 'http://cp', key: 'k' }, {}, 'h')).toThrow(/--check \(command line\): "ftp:\/\/x" must be an http:\/\/ or https:\/\/ URL, or tcp:\/\/host:port/);
    expect(() => loadConfig({ url: 'http://cp', key: 'k', service: ['web'], check: ['api=http://x/'] }, {}, 'h')).toThrow(/is for api, which is not among the services/);
  });

  it('answers an unknown flag in one line with the closest valid one', () => {
    expect(parseCommandLine(['--control-plane', 'http://x'])).toEqual({ error: 'unknown flag --control-plane; did you mean --url?' });
    expect(parseCommandLine(['--servce', 'web'])).toEqual({ error: 'unknown flag --servce; did you mean --service?' });
    expect(parseCommandLine(['--intervall', '5'])).toEqual({ error: 'unknown flag --intervall; did you mean --interval?' });
    expect(parseCommandLine(['--zzzzzzzzzz'])).toEqual({ error: 'unknown flag --zzzzzzzzzz' });
    expect(parseCommandLine(['--url'])).toEqual({ error: '--url needs a value' });
  });
});
