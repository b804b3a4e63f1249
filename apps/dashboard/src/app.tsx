import { useEffect, useRef } from 'preact/hooks';
import { liveStatus } from './lib/live';
import { interceptLinks, type Route, routeOf, useLocation } from './lib/router';
import { loadOperationRoles, operationRoles, session } from './lib/session';
import { useSignal } from './lib/signal';
import { cycleTheme, theme } from './lib/theme';
import { AgentsView } from './views/agents';
import { OverviewView } from './views/overview';
import { ServiceView } from './views/service';
import { SignInView } from './views/sign-in';

const LIVE_TEXT = { connecting: 'Connecting…', live: 'Live', offline: 'Offline, retrying' } as const;
const THEME_TEXT = { system: 'Theme: system', dark: 'Theme: dark', light: 'Theme: light' } as const;

/** The dashboard: sign-in until a key is given, then the header and the page of the current path. */
export function App() {
  const current = useSignal(session);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => (root.current ? interceptLinks(root.current) : undefined), []);
  return <div ref={root}>{current ? <Shell /> : <SignInView />}</div>;
}

function Shell() {
  const s = useSignal(session)!;
  const live = useSignal(liveStatus);
  const t = useSignal(theme);
  const permissions = useSignal(operationRoles);
  const url = useLocation();
  const route = routeOf(url.pathname);
  useEffect(() => {
    document.title = `${titleOf(route)} · Ninefold`;
  }, [url.pathname]);
  useEffect(() => void loadOperationRoles(), []);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/" aria-label="Ninefold overview">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Ninefold</span>
        </a>
        <nav aria-label="Main">
          <a href="/" aria-current={route.page === 'overview' || route.page === 'service' ? 'page' : undefined}>
            Services
          </a>
          <a href="/agents" aria-current={route.page === 'agents' ? 'page' : undefined}>
            Agents
          </a>
          <a href="/status" target="_blank" rel="noopener">
            Status page
          </a>
        </nav>
        <div class="topbar-end">
          <span class={`live live-${live}`} role="status" data-live={live}>
            <span class="live-dot" aria-hidden="true" />
            {LIVE_TEXT[live]}
          </span>
          <button type="button" class="ghost" onClick={cycleTheme} title="Switch between system, dark and light themes">
            {THEME_TEXT[t]}
          </button>
          <span class="who" title={`Signed in with the key "${s.name}"`} data-permissions={permissions ? 'loaded' : 'loading'}>
            {s.name} <span class="role">{s.role}</span>
          </span>
          <button type="button" class="ghost" onClick={() => session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <OverviewView />;
    case 'service':
      return <ServiceView key={route.name} name={route.name} />;
    case 'agents':
      return <AgentsView />;
    default:
      return (
        <section class="page">
          <h1>Page not found</h1>
          <p>
            Nothing is at <code>{route.path}</code>. <a href="/">Back to the services</a>.
          </p>
        </section>
      );
  }
}

function titleOf(route: Route): string {
  switch (route.page) {
    case 'overview':
      return 'Services';
    case 'service':
      return route.name;
    case 'agents':
      return 'Agents';
    default:
      return 'Not found';
  }
}
