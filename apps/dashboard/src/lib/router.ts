import { signal, useSignal } from './signal';

export type Route = { page: 'overview' } | { page: 'service'; name: string } | { page: 'agents' } | { page: 'not-found'; path: string };

/** The page a path shows. The api serves index.html at each of these paths. */
export function routeOf(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'overview' };
  if (pathname === '/agents') return { page: 'agents' };
  const m = /^\/services\/([a-z0-9][a-z0-9._-]{0,62})$/.exec(pathname);
  if (m) return { page: 'service', name: m[1] };
  return { page: 'not-found', path: pathname };
}

const location = signal(window.location.pathname + window.location.search);
window.addEventListener('popstate', () => location.set(window.location.pathname + window.location.search));

export function navigate(to: string): void {
  if (to === window.location.pathname + window.location.search) return;
  history.pushState(null, '', to);
  location.set(to);
  window.scrollTo(0, 0);
}

export function useLocation(): URL {
  return new URL(useSignal(location), window.location.origin);
}

/** Links inside the app change the page without a reload (modifier keys still open a new tab). */
export function interceptLinks(root: HTMLElement): () => void {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest('a');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== window.location.origin) return;
    if (!routeOf(a.pathname) || routeOf(a.pathname).page === 'not-found') return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  };
  root.addEventListener('click', onClick);
  return () => root.removeEventListener('click', onClick);
}
