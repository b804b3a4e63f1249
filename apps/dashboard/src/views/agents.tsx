import { useEffect, useState } from 'preact/hooks';
import { agentCommand } from '../lib/agent-hint';
import { ConfirmButton } from '../components/confirm-button';
import { api } from '../lib/api';
import { ago } from '../lib/format';
import { useCan } from '../lib/session';
import type { Agent } from '../lib/types';
import { useNow } from '../lib/use-now';

/** Agents report every minute (no live event): the list is read again this often. */
const REFRESH_MS = 15_000;

/** Agents and probers that reported in the last week: connected or not, version, what they watch, their buffers. */
export function AgentsView() {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(5_000);

  async function load(signal?: AbortSignal) {
    try {
      const page = await api<{ items: Agent[] }>('/agents', { signal });
      setAgents(page.items);
      setError(null);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError((err as Error).message);
    }
  }

  useEffect(() => {
    const abort = new AbortController();
    void load(abort.signal);
    const t = setInterval(() => void load(abort.signal), REFRESH_MS);
    return () => {
      abort.abort();
      clearInterval(t);
    };
  }, []);

  const connected = agents?.filter((a) => a.connected).length ?? 0;
  const probers = agents?.filter((a) => a.prober && a.connected).length ?? 0;
  const admin = useCan('DELETE /api/v1/agents/{instance}');
  return (
    <section class="page">
      <div class="page-head">
        <h1>Agents</h1>
        {agents && (
          <p class="muted">
            {connected} of {agents.length} connected · {probers} prober{probers === 1 ? '' : 's'} connected
          </p>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          Agents could not be loaded: {error}
        </p>
      )}
      {!agents ? (
        !error && <p class="muted">Loading…</p>
      ) : agents.length === 0 ? (
        <div class="card empty">
          <h2>No agents have reported</h2>
          <p>
            Start one (in a clone of Ninefold, with a key of the agent role); it appears here within a minute. Add <code>--prober</code> to let it confirm outages of others.
          </p>
          <pre>
            <code data-hint="agent">{agentCommand(window.location.origin)}</code>
          </pre>
        </div>
      ) : (
        <div class="card table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Connection</th>
                <th scope="col">Last seen</th>
                <th scope="col">Version</th>
                <th scope="col">Zone</th>
                <th scope="col">Services</th>
                <th scope="col">Buffer</th>
                {admin && (
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.instance} data-agent={a.instance}>
                  <th scope="row">
                    {a.instance}
                    {a.prober && (
                      <span class="flag" title="Takes probe tasks: confirms or refutes outages of other instances">
                        prober
                      </span>
                    )}
                    {a.address && <div class="muted small mono">{a.address}</div>}
                  </th>
                  <td>
                    <span class={`badge ${a.connected ? 'state-up' : 'state-unknown'}`}>
                      <span aria-hidden="true">{a.connected ? '●' : '○'}</span> {a.connected ? 'Connected' : 'Not connected'}
                    </span>
                  </td>
                  <td title={a.lastSeenAt}>{ago(a.lastSeenAt, now)}</td>
                  <td class="mono">{a.version}</td>
                  <td>{[a.zone, a.region].filter(Boolean).join(' · ') || <span class="muted">–</span>}</td>
                  <td>
                    {a.services.length === 0 ? (
                      <span class="muted">–</span>
                    ) : (
                      a.services.map((s, n) => (
                        <span key={s}>
                          {n > 0 && ', '}
                          <a href={`/services/${s}`}>{s}</a>
                        </span>
                      ))
                    )}
                  </td>
                  <td title="Heartbeats waiting to be sent / dropped while the control plane was away">
                    {a.queue.waiting} waiting
                    {a.queue.dropped > 0 && <span class="state-down-text"> · {a.queue.dropped} dropped</span>}
                  </td>
                  {admin && (
                    <td class="actions">
                      <ConfirmButton
                        label="Forget"
                        title={`Forget agent ${a.instance}?`}
                        confirm={<p>It leaves this list; it comes back when it reports again.</p>}
                        onConfirm={async () => {
                          await api(`/agents/${encodeURIComponent(a.instance)}`, { method: 'DELETE' });
                          await load();
                        }}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
