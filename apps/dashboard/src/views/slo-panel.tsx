import { useEffect, useRef, useState } from 'preact/hooks';
import { BudgetChart } from '../components/budget-chart';
import { api } from '../lib/api';
import { duration, percent } from '../lib/format';
import { follow } from '../lib/live';
import type { ServiceStore } from '../lib/service-store';
import { useSignal } from '../lib/signal';
import type { Slo } from '../lib/types';

const WINDOWS = ['5m', '30m', '1h', '6h', '1d', '3d'] as const;

/** The service's SLOs: SLI against objective, error budget left, burn rates and alert states; live from slo.update. */
export function SloPanel({ store }: { store: ServiceStore }) {
  const { service } = useSignal(store.state);
  const name = service?.name;
  const [slos, setSlos] = useState<Slo[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!name) return;
    const abort = new AbortController();
    const load = () =>
      api<{ items: Slo[] }>(`/slos?service=${encodeURIComponent(name)}&limit=100`, { signal: abort.signal })
        .then((page) => {
          setSlos(page.items);
          setError(null);
        })
        .catch((err: Error) => err.name !== 'AbortError' && setError(err.message));
    void load();
    const unfollow = follow({
      rooms: [`service:${name}`],
      snapshot: false,
      events: {
        'slo.update': (p) => {
          const next = p as unknown as Slo;
          if (next.service === name) setSlos((cur) => (cur ? (cur.some((s) => s.id === next.id) ? cur.map((s) => (s.id === next.id ? next : s)) : [...cur, next]) : cur));
        },
      },
      onSnapshot: () => void load(),
    });
    return () => {
      abort.abort();
      unfollow();
    };
  }, [name]);

  if (error) return <p class="error">SLOs could not be loaded: {error}</p>;
  if (!slos) return <p class="muted">Loading…</p>;
  if (slos.length === 0) {
    return (
      <p class="muted">
        No SLOs yet. Define one with <code>POST /api/v1/slos</code>, e.g. <code>{`{"service":"${name}","name":"availability","objective":0.999,"sli":{"type":"availability"}}`}</code>.
      </p>
    );
  }
  return (
    <div class="slos">
      {slos.map((s) => (
        <SloCard key={s.id} slo={s} />
      ))}
    </div>
  );
}

/** The burn-down is read again at most this often while updates arrive. */
const BURN_DOWN_REFRESH_MS = 60_000;

function SloCard({ slo }: { slo: Slo }) {
  const [burnDown, setBurnDown] = useState<{ at: string; remaining: number | null }[] | null>(null);
  const readAt = useRef(0);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  useEffect(() => {
    if (Date.now() - readAt.current < BURN_DOWN_REFRESH_MS) return;
    readAt.current = Date.now();
    api<{ points: { at: string; remaining: number | null }[] }>(`/slos/${slo.id}/budget`)
      .then((h) => mounted.current && setBurnDown(h.points))
      .catch(() => undefined);
  }, [slo.id, slo.evaluatedAt]);
  const firing = slo.alerts.filter((a) => a.firing);
  const held = slo.alerts.find((a) => a.suppressed);
  const left = slo.errorBudget.remaining;
  const met = slo.sli.value === null ? null : slo.sli.value >= slo.objective;
  return (
    <article class="slo" data-slo={slo.name}>
      <header class="slo-head">
        <h3>{slo.name}</h3>
        <span class="muted small">
          {sliLabel(slo.sli)} · {slo.window === 'calendar_month' ? 'this month' : `${slo.windowDays} days`}
        </span>
        {firing.length > 0 ? (
          <span class={`badge ${firing.some((a) => a.severity === 'page') ? 'state-down' : 'state-degraded'}`} data-alert="firing">
            <span aria-hidden="true">▲</span> {firing.some((a) => a.severity === 'page') ? 'Paging' : 'Ticket'}: burning {firing[0].longBurnRate?.toFixed(1)}×
          </span>
        ) : (
          <span class="badge state-up" data-alert="ok">
            <span aria-hidden="true">●</span> No alert
          </span>
        )}
      </header>
      <dl class="facts slo-facts">
        <div class={met === false ? 'state-down' : ''}>
          <dt>SLI / objective</dt>
          <dd>
            {percent(slo.sli.value)} <span class="muted small">/ {percent(slo.objective)}</span>
          </dd>
        </div>
        <div>
          <dt>Error budget left</dt>
          <dd class={left !== null && left < 0 ? 'state-down' : ''}>{left === null ? '–' : `${Math.round(left * 1000) / 10} %`}</dd>
        </div>
        <div>
          <dt>Budget used</dt>
          <dd>
            {slo.errorBudget.allowedSeconds !== undefined
              ? `${duration(slo.errorBudget.consumed)} down, ${duration(slo.errorBudget.allowedSeconds)} allowed`
              : `${slo.errorBudget.consumed.toLocaleString()} ${slo.sli.type === 'latency' ? 'slow' : 'failed'}, ${Math.floor(slo.errorBudget.allowedEvents ?? 0).toLocaleString()} allowed`}
          </dd>
        </div>
      </dl>
      <div class="budget-bar" role="img" aria-label={`Error budget left: ${left === null ? 'unknown' : `${Math.round(left * 100)} %`}`}>
        <span style={{ width: `${Math.max(0, Math.min(1, left ?? 0)) * 100}%` }} class={left !== null && left < 0.25 ? 'low' : ''} />
      </div>
      {burnDown && burnDown.some((p) => p.remaining !== null) && <BudgetChart points={burnDown} label={`Error budget left of ${slo.name} over its window`} />}
      <table class="table burn">
        <caption class="sr-only">Burn rates by window</caption>
        <thead>
          <tr>
            <th scope="col">Burn rate</th>
            {WINDOWS.map((w) => (
              <th key={w} scope="col">
                {w}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row" class="muted small">
              × budget pace
            </th>
            {WINDOWS.map((w) => {
              const r = slo.burnRates[w];
              return (
                <td key={w} class={r !== null && r >= 6 ? 'state-down-text' : r !== null && r >= 1 ? 'state-degraded' : ''}>
                  {r === null ? '–' : r.toFixed(r < 10 ? 2 : 1)}
                </td>
              );
            })}
          </tr>
        </tbody>
      </table>
      <ul class="alerts">
        {slo.alerts.map((a) => (
          <li key={`${a.severity}-${a.longWindow}`} data-firing={a.firing ? 'true' : 'false'}>
            <span class={a.firing ? 'state-down-text' : 'muted'}>{a.firing ? '▲ firing' : '○ quiet'}</span> {a.severity}: {a.longWindow} and {a.shortWindow} at ≥ {a.burnRate}
          </li>
        ))}
      </ul>
      {held && <p class="notice small">{held.suppressed}</p>}
    </article>
  );
}

/** What an SLO counts, in words: "availability (time)", "requests", "latency ≤ 300 ms". */
function sliLabel(sli: Slo['sli']): string {
  if (sli.type === 'availability') return 'availability (time)';
  if (sli.type === 'latency') return `latency ≤ ${sli.thresholdMs ?? '?'} ms`;
  return 'requests';
}
