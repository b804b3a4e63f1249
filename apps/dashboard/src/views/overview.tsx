import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { agentCommand, agentKeyCommand } from '../lib/agent-hint';
import { ServiceTile } from '../components/service-tile';
import { filterServices, type StateFilter, visibleRows } from '../lib/overview-filter';
import { createOverviewStore, totalsOf } from '../lib/overview-store';
import { useSignal } from '../lib/signal';
import type { ServiceState } from '../lib/types';
import { useNow } from '../lib/use-now';

const ROW_HEIGHT = 128;
const MIN_TILE_WIDTH = 270;
const GAP = 12;
const FILTERS: { id: StateFilter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'problems', label: 'Needs attention' },
  { id: 'DOWN', label: 'Down' },
  { id: 'DEGRADED', label: 'Degraded' },
  { id: 'UP', label: 'Up' },
  { id: 'UNKNOWN', label: 'Unknown' },
];

function readParams(): { q: string; state: StateFilter } {
  const p = new URLSearchParams(window.location.search);
  const state = p.get('state') as StateFilter | null;
  return { q: p.get('q') ?? '', state: state && FILTERS.some((f) => f.id === state) ? state : 'all' };
}

/** Every service as a tile, worst first; search and state filter; a virtual grid so 10,000 services scroll smoothly. */
export function OverviewView() {
  const store = useMemo(() => createOverviewStore(), []);
  useEffect(() => () => store.stop(), [store]);
  const data = useSignal(store.state);
  const now = useNow(15_000);
  const initial = useMemo(readParams, []);
  const [query, setQuery] = useState(initial.q);
  const [filter, setFilter] = useState<StateFilter>(initial.state);
  const search = useRef<HTMLInputElement>(null);

  // Search and filter live in the address, so a view can be shared or reloaded.
  useEffect(() => {
    const p = new URLSearchParams();
    if (query) p.set('q', query);
    if (filter !== 'all') p.set('state', filter);
    const next = `/${p.size ? `?${p}` : ''}`;
    if (next !== window.location.pathname + window.location.search) history.replaceState(null, '', next);
  }, [query, filter]);

  // "/" focuses the search, as on GitHub and Grafana.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && !e.metaKey && !e.ctrlKey && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement)) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const shown = useMemo(() => filterServices(data.items.values(), query, filter), [data.version, query, filter]);
  const totals = useMemo(() => totalsOf(data), [data.version]);
  const counts = totals?.services;
  const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : data.items.size;
  const problems = counts ? total - counts.UP : 0;

  return (
    <section class="page">
      <div class="page-head">
        <h1>Services</h1>
        {totals && <Totals services={totals.services} instances={totals.instances} signals={totals.openSignals} />}
      </div>
      <div class="toolbar" role="search">
        <label class="search">
          <span class="sr-only">Search services</span>
          <input ref={search} type="search" placeholder="Search by name or tier  ( / )" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Escape' && setQuery('')} />
        </label>
        <div class="chips" role="group" aria-label="Show">
          {FILTERS.map((f) => (
            <button key={f.id} type="button" class="chip" aria-pressed={filter === f.id} onClick={() => setFilter(f.id)}>
              {f.label}
              {counts && f.id !== 'all' && <span class="count">{f.id === 'problems' ? problems : counts[f.id as ServiceState]}</span>}
            </button>
          ))}
        </div>
      </div>
      {data.error && (
        <p class="error" role="alert">
          Services could not be loaded: {data.error}
        </p>
      )}
      <p class="muted small" aria-live="polite">
        {!data.totals && !data.error ? 'Loading services…' : `${shown.length.toLocaleString()} of ${total.toLocaleString()} service${total === 1 ? '' : 's'}${data.complete ? '' : ' (loading the rest…)'}`}
      </p>
      {data.totals && total === 0 ? <Empty /> : <Grid
          items={shown}
          now={now}
          onClear={() => {
            setQuery('');
            setFilter('all');
          }}
        />}
    </section>
  );
}

function Totals({ services, instances, signals }: { services: Record<string, number>; instances: Record<string, number>; signals: Record<string, number> }) {
  const openSignals = (signals.critical ?? 0) + (signals.warning ?? 0) + (signals.info ?? 0);
  return (
    <dl class="totals" aria-label="Totals">
      <div class="total state-down">
        <dt>Down</dt>
        <dd>{services.DOWN ?? 0}</dd>
      </div>
      <div class="total state-degraded">
        <dt>Degraded</dt>
        <dd>{services.DEGRADED ?? 0}</dd>
      </div>
      <div class="total state-up">
        <dt>Up</dt>
        <dd>{services.UP ?? 0}</dd>
      </div>
      <div class="total">
        <dt>Instances up</dt>
        <dd>
          {(instances.UP ?? 0).toLocaleString()}
          <span class="muted">/{Object.values(instances).reduce((a, b) => a + b, 0).toLocaleString()}</span>
        </dd>
      </div>
      <div class={`total ${signals.critical ? 'state-down' : signals.warning ? 'state-degraded' : ''}`}>
        <dt>Open signals</dt>
        <dd>{openSignals}</dd>
      </div>
    </dl>
  );
}

function Empty() {
  return (
    <div class="card empty">
      <h2>No services yet</h2>
      <p>Services appear here as soon as an agent sends their first heartbeat. Make a key with the agent role:</p>
      <pre>
        <code data-hint="agent-key">{agentKeyCommand(window.location.origin)}</code>
      </pre>
      <p>then, in a clone of Ninefold on the server, start an agent for a service on port 8080, checked over HTTP (the key from the answer's <code>key</code>):</p>
      <pre>
        <code data-hint="agent">{agentCommand(window.location.origin)}</code>
      </pre>
    </div>
  );
}

/**
 * The tiles in rows of as many columns as fit; only the rows in (or near)
 * the viewport exist in the DOM. Arrow keys move between tiles, Enter opens one.
 */
function Grid({ items, now, onClear }: { items: ReturnType<typeof filterServices>; now: number; onClear: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: window.innerHeight, width: 1024 });
  const [focus, setFocus] = useState(0);
  const wantFocus = useRef(false);

  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const r = el.getBoundingClientRect();
      setView((v) => (v.top === -r.top && v.height === window.innerHeight && v.width === el.clientWidth ? v : { top: -r.top, height: window.innerHeight, width: el.clientWidth }));
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener('scroll', schedule, { passive: true });
    window.addEventListener('resize', schedule);
    const ro = new ResizeObserver(schedule);
    ro.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener('scroll', schedule);
      window.removeEventListener('resize', schedule);
      ro.disconnect();
    };
  }, []);

  const columns = Math.max(1, Math.floor((view.width + GAP) / (MIN_TILE_WIDTH + GAP)));
  const rows = Math.ceil(items.length / columns);
  const { first, last } = visibleRows(view.top, view.height, ROW_HEIGHT, rows, 3);
  const focusIndex = Math.min(focus, Math.max(0, items.length - 1));

  // Before paint: the tile the arrow key chose has focus as soon as it shows.
  useLayoutEffect(() => {
    if (!wantFocus.current) return;
    wantFocus.current = false;
    host.current?.querySelector<HTMLElement>(`[data-index="${focusIndex}"]`)?.focus({ preventScroll: true });
  });

  function move(e: KeyboardEvent) {
    const step: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, PageDown: columns * 4, PageUp: -columns * 4 };
    let next: number;
    if (e.key in step) next = focusIndex + step[e.key];
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else return;
    e.preventDefault();
    next = Math.max(0, Math.min(items.length - 1, next));
    // Bring the row into view, then focus the tile once it is rendered.
    const el = host.current!;
    const rowTop = el.getBoundingClientRect().top + window.scrollY + Math.floor(next / columns) * ROW_HEIGHT;
    if (rowTop < window.scrollY + 60) window.scrollTo({ top: rowTop - 80 });
    else if (rowTop + ROW_HEIGHT > window.scrollY + window.innerHeight) window.scrollTo({ top: rowTop + ROW_HEIGHT - window.innerHeight + 16 });
    wantFocus.current = true;
    setFocus(next);
  }

  const tiles = [];
  for (let r = first; r <= last; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (i >= items.length) break;
      tiles.push(
        <div key={items[i].name} class="cell" style={{ transform: `translate(${c * 100}%, ${r * ROW_HEIGHT}px)`, width: `calc((100% - ${(columns - 1) * GAP}px) / ${columns})`, marginLeft: `${c * GAP}px` }} role="listitem">
          <ServiceTile item={items[i]} now={now} index={i} focused={i === focusIndex} />
        </div>,
      );
    }
  }
  return (
    <div
      ref={host}
      class="grid"
      role="list"
      aria-label="Services, worst first. Arrow keys move between them."
      style={{ height: `${rows * ROW_HEIGHT}px` }}
      onKeyDown={move}
      onFocusCapture={(e) => {
        const i = Number((e.target as HTMLElement).dataset.index);
        if (Number.isInteger(i) && i !== focusIndex) setFocus(i);
      }}
    >
      {tiles}
      {items.length === 0 && (
        <p class="muted">
          No service matches.{' '}
          <button type="button" class="link" onClick={onClear}>
            Show all
          </button>
        </p>
      )}
    </div>
  );
}
