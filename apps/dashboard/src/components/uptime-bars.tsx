import { percent } from '../lib/format';
import type { UptimeDay } from '../lib/types';

/** The class of a day's bar: its worst, in steps that make an outage visible at a glance. */
export function dayClass(a: number | null): string {
  if (a === null) return 'day-none';
  if (a >= 0.9999) return 'day-up';
  if (a >= 0.99) return 'day-minor';
  if (a >= 0.95) return 'day-partial';
  return 'day-major';
}

function describe(d: UptimeDay): string {
  if (d.availability === null) return `${d.date}: no data`;
  const down = d.downSeconds ? `, down ${Math.round(d.downSeconds / 60)} min` : '';
  return `${d.date}: ${percent(d.availability)}${down}`;
}

/** One bar per day, oldest left (like a status page's 90-day strip); each bar names its day and figure. */
export function UptimeBars({ days, label }: { days: UptimeDay[]; label: string }) {
  return (
    <div class="uptime">
      <div class="bars" role="img" aria-label={label}>
        {days.map((d) => (
          <span key={d.date} class={`bar ${dayClass(d.availability)}`} title={describe(d)} />
        ))}
      </div>
      <div class="bars-legend" aria-hidden="true">
        <span>{days.length} days ago</span>
        <span>today</span>
      </div>
    </div>
  );
}
