import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { io } from 'socket.io-client';
import { overallState } from '../../../libs/registry/src/status-page';
import { StateBadge } from './components/state-badge';
import { UptimeBars } from './components/uptime-bars';
import { percent } from './lib/format';
import type { PublicStatus, ServiceState } from './lib/types';
import './status.css';

/** Read again this often even while live: today's bars move, and services are added. */
const POLL_MS = 60_000;

const HEADLINE: Record<PublicStatus['state'], string> = {
  operational: 'All systems operational',
  degraded: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  unknown: 'No status yet',
};

/** `polling`: the server refused live updates (too many visitors); the page reloads every minute. */
type Live = 'connecting' | 'live' | 'offline' | 'polling';
const LIVE_LABEL: Record<Live, string> = { connecting: 'Connecting…', live: 'Live', offline: 'Reconnecting…', polling: 'Updated every minute' };

/**
 * The public status page: GET /api/v1/status (no key), then live
 * `service.state` updates from the socket.io namespace `/status`. Kept small:
 * no charts, no router; customers open it during an outage.
 */
function StatusPage() {
  const [status, setStatus] = useState<PublicStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<Live>('connecting');

  useEffect(() => {
    let stopped = false;
    async function load() {
      try {
        const res = await fetch('/api/v1/status');
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const next = (await res.json()) as PublicStatus;
        if (stopped) return;
        // A cached answer may be older than an event already shown: the newer state wins.
        setStatus((cur) => merge(cur, next));
        setError(null);
      } catch (err) {
        if (!stopped) setError((err as Error).message);
      }
    }
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    const socket = io('/status', { path: '/ws', transports: ['websocket'], reconnectionDelayMax: 10_000 });
    socket.on('connect', () => {
      setLive('live');
      void load();
    });
    let refused = false;
    socket.on('refused', () => {
      refused = true;
      setLive('polling');
    });
    socket.on('disconnect', () => setLive(refused ? 'polling' : 'offline'));
    socket.on('connect_error', () => setLive('offline'));
    socket.on('service.state', (p: { name: string; state: ServiceState; since: string }) => setStatus((cur) => (cur ? applyChange(cur, p) : cur)));
    return () => {
      stopped = true;
      clearInterval(timer);
      socket.disconnect();
    };
  }, []);

  useEffect(() => {
    if (status) document.title = `${status.state === 'operational' ? '' : `${HEADLINE[status.state]} · `}${status.title}`;
  }, [status?.state, status?.title]);

  if (!status) {
    return <main class="status-page">{error ? <p class="error">The status could not be loaded ({error}). Retrying…</p> : <p class="muted">Loading…</p>}</main>;
  }
  return (
    <main class="status-page">
      <header class="status-head">
        <h1>{status.title}</h1>
        <span class={`live live-${live}`} role="status" data-live={live}>
          <span class="live-dot" aria-hidden="true" />
          {LIVE_LABEL[live]}
        </span>
      </header>
      <p class={`banner banner-${status.state}`} role="status" data-overall={status.state}>
        {HEADLINE[status.state]}
      </p>
      {error && <p class="error small">Could not refresh ({error}); showing what was last received.</p>}
      {status.services.length === 0 ? (
        <p class="muted">No services are listed yet.</p>
      ) : (
        <ul class="status-services">
          {status.services.map((s) => (
            <li key={s.name} class="status-service" data-service={s.name}>
              <div class="status-service-head">
                <div>
                  <h2>{s.name}</h2>
                  {s.description && <p class="muted small">{s.description}</p>}
                </div>
                <StateBadge state={s.state} />
              </div>
              <UptimeBars days={s.days} label={`Daily availability of ${s.name}, last ${s.days.length} days`} />
              <p class="muted small status-uptime">{uptimeText(s)}</p>
            </li>
          ))}
        </ul>
      )}
      <footer class="muted small">
        Updated {new Date(status.updatedAt).toLocaleString()} · <a href="/api/v1/status">JSON</a> · Powered by Ninefold
      </footer>
    </main>
  );
}

function uptimeText(s: PublicStatus['services'][number]): string {
  if (s.uptime90d === null) return 'No data yet';
  const first = s.days.findIndex((d) => d.availability !== null);
  const span = s.days.length - first;
  return `${percent(s.uptime90d)} uptime ${first === 0 ? `over ${span} days` : `since ${s.days[first].date}`}`;
}

function applyChange(cur: PublicStatus, p: { name: string; state: ServiceState; since: string }): PublicStatus {
  let changed = false;
  const services = cur.services.map((s) => {
    if (s.name !== p.name || Date.parse(p.since) < Date.parse(s.stateSince)) return s;
    changed = true;
    return { ...s, state: p.state, stateSince: p.since };
  });
  return changed ? { ...cur, services, state: overallState(services.map((s) => s.state)) } : cur;
}

function merge(cur: PublicStatus | null, next: PublicStatus): PublicStatus {
  if (!cur) return next;
  const known = new Map(cur.services.map((s) => [s.name, s]));
  const services = next.services.map((s) => {
    const k = known.get(s.name);
    return k && Date.parse(k.stateSince) > Date.parse(s.stateSince) ? { ...s, state: k.state, stateSince: k.stateSince } : s;
  });
  return { ...next, services, state: overallState(services.map((s) => s.state)) };
}

render(<StatusPage />, document.getElementById('status')!);
