import type { TestDatabase } from '../../../../test/support/database.js';
import type { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * The self-health guard: when most instances fall silent in the same second,
 * the likelier cause is Ninefold's own ingress; they are held at SUSPECT and
 * one signal is raised instead of a flood of DOWNs.
 */
describe('mass-silence guard (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let admin: HttpClient;

  beforeAll(async () => {
    stack = await startStack({ env: { DETECTOR_MASS_SILENCE_MIN_INSTANCES: '10', DETECTOR_MASS_SILENCE_HOLD_SECONDS: '3' } });
    ({ db, admin } = stack);
  });

  afterAll(() => stack?.stop());

  it('holds a fleet that went silent at once at SUSPECT, raises one signal, and resumes detection after the hold', async () => {
    const service = 'fleet';
    const ids = Array.from({ length: 12 }, (_, i) => `f-${i}`);
    await admin.post('/api/v1/heartbeats', { heartbeats: ids.map((instance) => ({ service, instance, intervalSeconds: 1 })) });
    await until(() => admin.get(`/api/v1/discovery/${service}`), (r) => r.body.items?.length === 12, 10_000);
    const silentAt = Date.now();

    // All silent: ttl 3 s → SUSPECT; grace 1 s would make them DOWN at 4 s, but the guard holds them.
    const signal = await until(
      () => db.query<{ kind: string; message: string; count: number }>("SELECT kind, message, count FROM signals WHERE kind = 'control_plane.ingress_problem'"),
      (r) => r.rows.length === 1,
      15_000,
    );
    expect(signal.rows[0].message).toMatch(/^control-plane ingress problem: 12 of 12 instances went silent within one second/);
    await new Promise((r) => setTimeout(r, Math.max(0, silentAt + 5000 - Date.now())));
    const held = (await admin.get(`/api/v1/discovery/${service}?all=true`)).body.items as { state: string }[];
    expect(held.map((i) => i.state)).toEqual(Array(12).fill('SUSPECT'));

    // After the hold, ordinary detection resumes: they are silent for real, so they go DOWN, and the signal is resolved.
    await until(() => admin.get(`/api/v1/discovery/${service}?all=true`), (r) => r.body.items.every((i: { state: string }) => i.state === 'DOWN'), 15_000);
    const resolved = await db.query<{ resolved_at: Date | null }>("SELECT resolved_at FROM signals WHERE kind = 'control_plane.ingress_problem'");
    expect(resolved.rows[0].resolved_at).not.toBeNull();
  });
});
