import { freePort } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * The worker's Prometheus endpoint: what the drain and the failure-detection
 * sweep measure lives in the worker, and is scraped there.
 */
describe('worker metrics (e2e)', () => {
  let stack: Stack;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    stack = await startStack({ env: { WORKER_METRICS_PORT: String(port), WORKER_METRICS_HOST: '127.0.0.1' } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${url}/metrics`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const value = (text: string, series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  it('serves the drain, sweep and process figures on GET /metrics, and nothing else', async () => {
    expect((await stack.admin.post('/api/v1/heartbeats', { heartbeats: [1, 2, 3].map((i) => ({ service: 'scraped', instance: `m-${i}` })) })).status).toBe(202);
    const got = await until(scrape, (r) => value(r.text, 'ninefold_heartbeats_ingested_total') === 3, 15_000);
    expect(got.status).toBe(200);
    expect(got.type).toMatch(/^text\/plain/);
    expect(value(got.text, 'ninefold_ingest_drain_seconds_count')).toBeGreaterThan(0);
    expect(value(got.text, 'ninefold_detector_sweep_seconds_count')).toBeGreaterThan(0);
    expect(got.text).toMatch(/^ninefold_process_resident_memory_bytes /m);
    expect((await fetch(`${url}/`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
