import { AvailabilityChart } from '../components/availability-chart';
import { ConfirmButton } from '../components/confirm-button';
import { StateBadge } from '../components/state-badge';
import { UptimeBars } from '../components/uptime-bars';
import { api } from '../lib/api';
import { ago, duration, ninesLabel, percent } from '../lib/format';
import type { ServiceStore } from '../lib/service-store';
import { useCan } from '../lib/session';
import { useSignal } from '../lib/signal';
import type { Instance } from '../lib/types';
import { useNow } from '../lib/use-now';

const WORST: Record<string, number> = { DOWN: 0, SUSPECT: 1, UNKNOWN: 2, UP: 3 };

/** Instances, worst first: state, their own 30-day availability, where they run, last heartbeat, why they last changed. */
export function InstancesPanel({ store }: { store: ServiceStore }) {
  const { service } = useSignal(store.state);
  const now = useNow(5_000);
  const operator = useCan('DELETE /api/v1/services/{name}/instances/{id}');
  if (!service) return null;
  const rows = [...service.instances].sort((a, b) => WORST[a.state] - WORST[b.state] || a.id.localeCompare(b.id));
  if (rows.length === 0) return <p class="muted">No instances: they appear with their first heartbeat or registration.</p>;
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">State</th>
            <th scope="col" title="The instance's own availability over 30 days (SUSPECT counts as up; maintenance left out)">
              30 days
            </th>
            <th scope="col">Zone</th>
            <th scope="col">Address</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">Last change</th>
            {operator && (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((i) => (
            <InstanceRow key={i.id} i={i} now={now} operator={operator} store={store} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InstanceRow({ i, now, operator, store }: { i: Instance; now: number; operator: boolean; store: ServiceStore }) {
  return (
    <tr data-instance={i.id} data-state={i.state}>
      <th scope="row">
        {i.id}
        {i.flapping && (
          <span class="flag flapping" title="Changing state too often (flap damping)">
            ↯ flapping
          </span>
        )}
        {i.partitioned && (
          <span class="flag" title="Silent, but probers reach it: the heartbeat path is broken, not the instance">
            partitioned
          </span>
        )}
      </th>
      <td>
        <StateBadge state={i.state} />
        {i.status === 'degraded' && <span class="muted small"> degraded</span>}
      </td>
      <td class="num" data-availability title={i.availability ? `1 hour ${percent(i.availability['1h'])} · 24 hours ${percent(i.availability['24h'])} · 7 days ${percent(i.availability['7d'])}` : undefined}>
        {percent(i.availability?.['30d'])}
      </td>
      <td>{[i.zone, i.region].filter(Boolean).join(' · ') || <span class="muted">–</span>}</td>
      <td class="mono">{i.address ? `${i.address}${i.port ? `:${i.port}` : ''}` : <span class="muted">–</span>}</td>
      <td title={i.lastSeenAt ?? undefined}>{ago(i.lastSeenAt, now)}</td>
      <td>
        <span title={i.since}>{ago(i.since, now)}</span>
        {i.reason && <div class="muted small">{i.reason}</div>}
      </td>
      {operator && (
        <td class="actions">
          <ConfirmButton
            label="Deregister"
            title={`Deregister ${i.id}?`}
            confirm={<p>The instance leaves discovery at once. If its agent still sends heartbeats, it registers itself again.</p>}
            onConfirm={async () => {
              await api(`/services/${encodeURIComponent(i.service)}/instances/${encodeURIComponent(i.id)}`, { method: 'DELETE' });
              await store.reload();
            }}
          />
        </td>
      )}
    </tr>
  );
}

/** 90 daily bars and the daily availability chart. */
export function UptimePanel({ store }: { store: ServiceStore }) {
  const { uptime } = useSignal(store.state);
  if (!uptime) return <p class="muted">Loading…</p>;
  // A line needs two days to say anything.
  const known = uptime.days.filter((d) => d.availability !== null).length >= 2;
  return (
    <>
      <p class="figure-line">
        <strong>{percent(uptime.availability)}</strong> <span class="muted">{ninesLabel(uptime.availability)}</span>
        {uptime.downSeconds > 0 && <span class="muted"> · down {duration(uptime.downSeconds)} in 90 days</span>}
      </p>
      <UptimeBars days={uptime.days} label={`Daily availability of ${uptime.service}, last ${uptime.days.length} days`} />
      {known && <AvailabilityChart days={uptime.days} />}
    </>
  );
}

/** Every state change of the service and its instances, newest first; live. */
export function HistoryPanel({ store }: { store: ServiceStore }) {
  const { history, historyCursor, historyLoading } = useSignal(store.state);
  if (history.length === 0) return <p class="muted">{historyLoading ? 'Loading…' : 'No state changes yet.'}</p>;
  return (
    <>
      <ol class="history">
        {history.map((h, n) => (
          <li key={`${h.at}-${h.kind}-${h.instance}-${n}`}>
            <time dateTime={h.at} title={h.at}>
              {new Date(h.at).toLocaleString()}
            </time>
            <span class="history-what">
              {h.kind === 'service' ? <strong>service</strong> : <span class="mono">{h.instance ?? '(deleted instance)'}</span>}{' '}
              <span class="muted">{h.from.toLowerCase()} →</span> <StateBadge state={h.to as Instance['state']} />
            </span>
            {h.reason && <span class="muted small history-reason">{h.reason}</span>}
          </li>
        ))}
      </ol>
      {historyCursor && (
        <button type="button" class="secondary" disabled={historyLoading} onClick={() => void store.moreHistory()}>
          {historyLoading ? 'Loading…' : 'Older changes'}
        </button>
      )}
    </>
  );
}
