import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { useSignal } from '../lib/signal';
import { theme } from '../lib/theme';
import type { UptimeDay } from '../lib/types';

/** A colour variable as the canvas needs it: resolved (`light-dark()` picked by the theme) to rgb(). */
export function cssColor(host: HTMLElement, name: string): string {
  const probe = document.createElement('span');
  probe.style.color = `var(${name})`;
  host.appendChild(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}

/** uPlot is loaded with the first chart, not with the overview's first paint. */
let loading: Promise<typeof uPlot> | null = null;
export function loadUPlot(): Promise<typeof uPlot> {
  loading ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return loading;
}

/**
 * Draws a uPlot chart into the returned ref's element once uPlot has loaded,
 * again when `deps` or the theme change; `draw` returns its cleanup.
 */
export function useUPlot(draw: (UPlot: typeof uPlot, el: HTMLElement) => () => void, deps: unknown[]) {
  const host = useRef<HTMLDivElement>(null);
  // Drawn again in the colours of a newly chosen theme.
  const currentTheme = useSignal(theme);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let cleanup: (() => void) | undefined;
    let gone = false;
    void loadUPlot().then((UPlot) => {
      if (!gone) cleanup = draw(UPlot, el);
    });
    return () => {
      gone = true;
      cleanup?.();
    };
  }, [...deps, currentTheme]);
  return host;
}

/** Daily availability (%) over the days given, drawn with uPlot; the y axis starts just under the worst day. */
export function AvailabilityChart({ days }: { days: UptimeDay[] }) {
  const host = useUPlot((UPlot, el) => draw(UPlot, el, days), [days]);
  return <div class="chart" ref={host} role="img" aria-label="Daily availability, last 90 days" />;
}

function draw(UPlot: typeof uPlot, el: HTMLElement, days: UptimeDay[]): () => void {
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const ys = days.map((d) => (d.availability === null ? null : d.availability * 100));
  const worst = Math.min(100, ...ys.filter((y): y is number => y !== null));
  const floor = worst >= 99.9 ? 99.8 : Math.max(0, Math.floor(worst - (100 - worst) * 0.1));
  const line = cssColor(el, '--accent');
  const grid = cssColor(el, '--border');
  const text = cssColor(el, '--muted');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const plot = new UPlot(
    {
      width: el.clientWidth || 600,
      height: 180,
      legend: { show: false },
      cursor: { y: false },
      scales: { x: { time: true }, y: { range: [floor, 100] } },
      axes: [axis, { ...axis, values: (_u, v) => v.map((x) => `${x} %`), size: 64 }],
      series: [{}, { label: 'availability', stroke: line, width: 2, fill: line.replace(/^rgb\((.*)\)$/, 'rgba($1, 0.13)'), spanGaps: false, points: { show: false } }],
    },
    [xs, ys as number[]],
    el,
  );
  const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 180 }));
  ro.observe(el);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}
