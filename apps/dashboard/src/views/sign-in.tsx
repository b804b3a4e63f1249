import { useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { type Role, session } from '../lib/session';
import { useSignal } from '../lib/signal';

/** Sign-in with an API key; the key is checked with GET /api/v1/auth/whoami and kept for this tab only. */
export function SignInView() {
  const reason = useSignal(session.reason);
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const k = key.trim();
    if (!k) {
      setError('Paste an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await api<{ name: string; role: Role }>('/auth/whoami', { key: k });
      if (me.role === 'agent') setError(`The key "${me.name}" has the agent role, which does what agents and probers do and reads nothing else. The dashboard needs a viewer, operator or admin key.`);
      else session.signIn({ key: k, name: me.name, role: me.role });
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'This key is not accepted: it is unknown, revoked or mistyped.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={submit} aria-describedby="signin-help">
        <div class="brand brand-large">
          <img src="/favicon.svg" alt="" width="32" height="32" />
          <span>Ninefold</span>
        </div>
        <h1>Sign in</h1>
        {reason && !error && (
          <p class="notice" role="status">
            {reason}
          </p>
        )}
        <label for="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          autoFocus
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
        />
        {error && (
          <p class="error" id="signin-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small" id="signin-help">
          The key is kept in this tab only and forgotten when it closes. The first start of Ninefold prints an admin key; create narrower ones with <code>POST /api/v1/keys</code>. The public status page needs no key: <a href="/status">/status</a>.
        </p>
      </form>
    </main>
  );
}
