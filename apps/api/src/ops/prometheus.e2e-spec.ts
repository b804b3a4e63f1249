import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * What a Prometheus user sees: the api's and the worker's /metrics pass
 * `promtool check metrics`, and a real Prometheus server scraping the api
 * answers "how many instances of a service are DOWN" through its HTTP API.
 * scripts/test.mjs installs Debian's prometheus package (server and promtool).
 */
describe('Prometheus (e2e)', () => {
  let stack: Stack;
  let workerMetrics: string;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let dir: string;
  const promtool = process.env.NINEFOLD_PROMTOOL ?? 'promtool';

  beforeAll(async () => {
    const workerPort = await freePort();
    workerMetrics = `http://127.0.0.1:${workerPort}/metrics`;
    stack = await startStack({ env: { METRICS_INSTANCE_SERIES: 'true', WORKER_METRICS_PORT: String(workerPort), WORKER_METRICS_HOST: '127.0.0.1' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-prometheus-'));
    const api = new URL(stack.api.url);
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:', '  - job_name: ninefold-api', '    static_configs:', `      - targets: ["${api.host}"]`, ''].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      process.env.NINEFOLD_PROMETHEUS ?? 'prometheus',
      [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    await until(() => fetch(`${promUrl}/-/ready`).then((r) => r.status).catch(() => 0), (s) => s === 200, 30_000);
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q: string): Promise<number | null> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    const first = body.data.result[0];
    return first ? Number(first.value[1]) : null;
  };

  it("counts a service's instances by state, and says whether it works, as a Prometheus server scrapes them", async () => {
    const beat = (instance: string) => stack.admin.post('/api/v1/heartbeats', { service: 'prom-web', instance, intervalSeconds: 1 });
    expect((await beat('web-a')).status).toBe(202);
    expect((await beat('web-b')).status).toBe(202);
    // web-a goes on beating; web-b falls silent: SUSPECT after 3 s, DOWN 1 s later.
    const beating = setInterval(() => void beat('web-a'), 500);
    try {
      expect(await until(() => query('ninefold_service_instances{service="prom-web",state="DOWN"}'), (v) => v === 1, 30_000)).toBe(1);
      expect(await query('ninefold_service_instances{service="prom-web",state="UP"}')).toBe(1);
      expect(await query('ninefold_service_instances{service="prom-web",state="SUSPECT"}')).toBe(0);
      expect(await query('sum(ninefold_service_instances{service="prom-web"})')).toBe(2);
      expect(await query('ninefold_service_up{service="prom-web"}')).toBe(1);
      expect(await query('ninefold_instance_up{service="prom-web",instance_id="web-b"}')).toBe(0);
      expect(await query('ninefold_instance_up{service="prom-web",instance_id="web-a"}')).toBe(1);
    } finally {
      clearInterval(beating);
    }
  });

  it("passes promtool check metrics, the api's /metrics and the worker's", async () => {
    for (const url of [`${stack.api.url}/metrics`, workerMetrics]) {
      const text = await (await fetch(url)).text();
      expect(text).toMatch(/^ninefold_/m);
      const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ url, status: check.status, problems: `${check.stdout}${check.stderr}`.trim() }).toEqual({ url, status: 0, problems: '' });
    }
  });
});
