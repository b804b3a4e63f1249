import type uPlot from 'uplot';
import { cssColor, useUPlot } from './availability-chart';

/** Error budget left (%) over the SLO's window: a burn-down line, with 0 % marked. */
export function BudgetChart({ points, label }: { points: { at: string; remaining: number | null }[]; label: string }) {
  const host = useUPlot((UPlot, el) => draw(UPlot, el, points), [points]);
  return <div class="chart budget-chart" ref={host} role="img" aria-label={label} />;
}

function draw(UPlot: typeof uPlot, el: HTMLElement, all: { at: string; remaining: number | null }[]): () => void {
  // Days before the first figure (before the service had any events) are not drawn: the line starts with the data.
  const first = all.findIndex((p) => p.remaining !== null);
  const points = first > 0 ? all.slice(first) : all;
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  const ys = points.map((p) => (p.remaining === null ? null : p.remaining * 100));
  const known = ys.filter((y): y is number => y !== null);
  const low = Math.min(0, ...known);
  const line = cssColor(el, '--accent');
  const grid = cssColor(el, '--border');
  const text = cssColor(el, '--muted');
  const danger = cssColor(el, '--down');
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const plot = new UPlot(
    {
      width: el.clientWidth || 600,
      height: 140,
      legend: { show: false },
      cursor: { y: false },
      // Fixed to the points, at least an hour wide: a young SLO has one or two, and uPlot stretches a lone one over years.
      scales: { x: { time: true, auto: false, range: [Math.min(xs[0], xs[xs.length - 1] - 3600), xs[xs.length - 1]] }, y: { range: [Math.floor(low / 10) * 10, 100] } },
      axes: [axis, { ...axis, values: (_u, v) => v.map((x) => `${x} %`), size: 64 }],
      series: [{}, { label: 'budget left', stroke: line, width: 2, points: { show: known.length < 3, size: 8, fill: line } }, { label: 'spent', stroke: danger, width: 1, dash: [4, 4], points: { show: false } }],
    },
    [xs, ys as number[], xs.map(() => 0)],
    el,
  );
  const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 140 }));
  ro.observe(el);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}
