import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from '../../../test/support/database.js';
import { freePort, NinefoldProcess } from '../../../test/support/processes.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { until } from '../../../test/support/until.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * What users install: `npm run build:agent` makes the agent and client
 * tarballs; the agent installed with `npm install -g` (offline: it has no
 * dependencies) runs against the control plane, and an application using the
 * installed @ninefold/client reports its calls through it.
 */
describe('ninefold-agent and @ninefold/client packages (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let agentKey: string;
  let tmp: string;
  let agent: NinefoldProcess | undefined;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-packages-'));
    stack = await startStack();
    ({ db } = stack);
    ({ key: agentKey } = await stack.client('agent'));
  });

  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('builds both tarballs, installs them, and the installed client reports through the installed agent', async () => {
    const [agentTgz, clientTgz] = execFileSync(process.execPath, [path.join(root, 'scripts', 'build-agent.mjs')], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    expect(path.basename(agentTgz)).toMatch(/^ninefold-agent-\d+\.\d+\.\d+\.tgz$/);
    expect(path.basename(clientTgz)).toMatch(/^ninefold-client-\d+\.\d+\.\d+\.tgz$/);

    const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--offline', '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
    const prefix = path.join(tmp, 'prefix');
    npm(['install', '-g', '--prefix', prefix, agentTgz], tmp);
    const bin = path.join(prefix, 'bin', 'ninefold-agent');
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    // The example configuration shipped in the package is valid as it stands.
    const example = path.join(prefix, 'lib', 'node_modules', 'ninefold-agent', 'agent.example.yaml');
    expect(execFileSync(bin, ['check-config', '--config', example], { encoding: 'utf8' })).toContain('configuration is valid');
    expect(fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'ninefold-agent', 'ninefold-agent.service'))).toBe(true);
    // Its README points at nothing the package lacks: every link is absolute or a file in the package.
    const installed = path.join(prefix, 'lib', 'node_modules', 'ninefold-agent');
    const links = [...fs.readFileSync(path.join(installed, 'README.md'), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !/^https?:\/\//.test(l) && !fs.existsSync(path.join(installed, l)))).toEqual([]);

    const intakePort = await freePort();
    const child = spawn(bin, ['--url', stack.api.url, '--instance', 'pkg-1', '--service', 'pkg-shop', '--interval', '1', '--intake-port', String(intakePort)], {
      env: { PATH: process.env.PATH ?? '', NINEFOLD_KEY: agentKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent = new NinefoldProcess('agent', child, '');
    await agent.waitForLine(/ninefold-agent started/, 20_000);

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
    npm(['install', clientTgz], app);
    fs.writeFileSync(
      path.join(app, 'main.mjs'),
      `import { NinefoldClient } from '@ninefold/client';
const nf = new NinefoldClient({ service: 'pkg-shop', agentUrl: 'http://127.0.0.1:${intakePort}' });
for (let i = 0; i < 8; i++) await nf.call('inventory', async () => 'ok');
for (let i = 0; i < 2; i++) await nf.call('inventory', async () => { throw new Error('boom'); }).catch(() => {});
nf.request(true, 12); nf.request(false, 30);
await nf.close();
console.log('reported', nf.dropped);
`,
    );
    expect(execFileSync(process.execPath, [path.join(app, 'main.mjs')], { encoding: 'utf8' }).trim()).toBe('reported 0');

    const deps = await until(
      () => db.query<{ calls: string; failures: string }>("SELECT sum(d.calls)::text AS calls, sum(d.failures)::text AS failures FROM dependency_rollups d JOIN services s ON s.id = d.service_id WHERE s.name = 'pkg-shop' AND d.dependency = 'inventory'"),
      (r) => r.rows[0].calls === '10',
      20_000,
    );
    expect(deps.rows[0]).toEqual({ calls: '10', failures: '2' });
    const reqs = await until(
      () => db.query<{ total: string; errors: string }>("SELECT sum(r.total)::text AS total, sum(r.errors)::text AS errors FROM request_rollups r JOIN services s ON s.id = r.service_id WHERE s.name = 'pkg-shop'"),
      (r) => r.rows[0].total === '2',
      20_000,
    );
    expect(reqs.rows[0]).toEqual({ total: '2', errors: '1' });
  });
});
