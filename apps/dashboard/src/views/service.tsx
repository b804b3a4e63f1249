import { useEffect, useMemo } from 'preact/hooks';
import { ConfirmButton } from '../components/confirm-button';
import { StateBadge } from '../components/state-badge';
import { api } from '../lib/api';
import { ago, ninesLabel, percent } from '../lib/format';
import { navigate } from '../lib/router';
import { createServiceStore } from '../lib/service-store';
import { useCan } from '../lib/session';
import { useSignal } from '../lib/signal';
import type { Service } from '../lib/types';
import { useNow } from '../lib/use-now';
import { servicePanels } from './service-panels';

const WINDOWS = ['1h', '24h', '7d', '30d', '90d'] as const;

/** One service: its state and figures, then its panels (instances, uptime, history, and those later features add). */
export function ServiceView({ name }: { name: string }) {
  const store = useMemo(() => createServiceStore(name), [name]);
  useEffect(() => () => store.stop(), [store]);
  const { service, missing, error } = useSignal(store.state);
  const now = useNow(10_000);
  const canDelete = useCan('DELETE /api/v1/services/{name}');

  if (missing) {
    return (
      <section class="page">
        <a href="/" class="back">
          ← Services
        </a>
        <h1>{name}</h1>
        <p>There is no service called {name} (it may have just been deleted).</p>
      </section>
    );
  }
  return (
    <section class="page" data-service={name}>
      <a href="/" class="back">
        ← Services
      </a>
      <div class="page-head service-head">
        <h1>{name}</h1>
        {service && <StateBadge state={service.state} large />}
        {service && canDelete && (
          <div class="head-actions">
            <ConfirmButton
              danger
              label="Delete service"
              title={`Delete ${name}?`}
              confirm={<p>The service and its instances leave the registry and discovery. Their history is kept. Agents still sending heartbeats for it register it again.</p>}
              onConfirm={async () => {
                await api(`/services/${encodeURIComponent(name)}`, { method: 'DELETE' });
                navigate('/');
              }}
            />
          </div>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!service ? <p class="muted">Loading…</p> : <Summary service={service} now={now} />}
      {service &&
        servicePanels.map(({ id, title, Component }) => (
          <section key={id} class="card panel" aria-labelledby={`panel-${id}`} data-panel={id}>
            <h2 id={`panel-${id}`}>{title}</h2>
            <Component store={store} />
          </section>
        ))}
    </section>
  );
}

function Summary({ service: s, now }: { service: Service; now: number }) {
  const up = s.instances.filter((i) => i.state === 'UP').length;
  return (
    <>
      <p class="state-line">
        {s.stateReason ? `${s.stateReason} · ` : ''}since {ago(s.stateSince, now)}
        {s.description && <span class="muted"> · {s.description}</span>}
      </p>
      {s.maintenance && (
        <p class="maintenance-line" data-maintenance={s.maintenance.id}>
          <span aria-hidden="true">⚙</span> In maintenance until {new Date(s.maintenance.to).toLocaleString()}
          {s.maintenance.reason ? ` · ${s.maintenance.reason}` : ''} <span class="muted small">(left out of availability)</span>
        </p>
      )}
      <dl class="facts">
        {WINDOWS.map((w) => (
          <div key={w}>
            <dt>Availability {w}</dt>
            <dd>
              {percent(s.availability[w])}
              <span class="muted small"> {ninesLabel(s.availability[w])}</span>
            </dd>
          </div>
        ))}
        {s.dependsOn.length > 0 && (
          <div>
            <dt title="30-day availability composed with what it depends on: the ceiling its dependencies impose">With dependencies 30d</dt>
            <dd>{percent(s.composite30d)}</dd>
          </div>
        )}
        <div>
          <dt>Instances up</dt>
          <dd>
            {up}/{s.instances.length}
          </dd>
        </div>
        <div>
          <dt title={`Quorum rule ${s.quorum}, at least ${s.minHealthy} healthy`}>Can lose</dt>
          <dd>
            {s.canLose} more <span class="muted small">({s.quorum})</span>
          </dd>
        </div>
        <div>
          <dt>Survives losing</dt>
          <dd>{(['node', 'zone', 'region'] as const).filter((k) => s.survives[k]).join(', ') || 'nothing'}</dd>
        </div>
        {s.survivalGoal && (
          <div class={s.survivalGoalMet === false ? 'state-down' : ''}>
            <dt>Survival goal</dt>
            <dd>
              {s.survivalGoal} {s.survivalGoalMet === false ? '✗ not met' : '✓ met'}
            </dd>
          </div>
        )}
        {s.leader && (
          <div>
            <dt>Leader</dt>
            <dd class="mono">
              {s.leader.id}
              {s.leader.term !== null && <span class="muted small"> term {s.leader.term}</span>}
            </dd>
          </div>
        )}
        {s.dependsOn.length > 0 && (
          <div class="wide">
            <dt>Depends on</dt>
            <dd>
              {s.dependsOn.map((group, gi) => (
                <span key={gi} class="dep-group">
                  {gi > 0 && <span class="muted"> then </span>}
                  {group.map((d, di) => (
                    <span key={d}>
                      {di > 0 && <span class="muted"> or </span>}
                      <a href={`/services/${d}`}>{d}</a>
                    </span>
                  ))}
                </span>
              ))}
            </dd>
          </div>
        )}
      </dl>
    </>
  );
}
