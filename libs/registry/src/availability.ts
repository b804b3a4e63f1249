/**
 * A span of time a service or an instance spent in one state; MAINTENANCE is
 * time it (or its service) was explicitly in maintenance. A MIXED span is a rolled-up hour or day: of its
 * length, `knownMs` had a known state and `downMs` of those were DOWN, in an
 * order no longer known (a part of it counts pro rata).
 */
export interface StateSpan {
  state: 'UP' | 'DEGRADED' | 'SUSPECT' | 'DOWN' | 'UNKNOWN' | 'MAINTENANCE' | 'MIXED';
  fromMs: number;
  toMs: number;
  knownMs?: number;
  downMs?: number;
}

export interface Availability {
  /** Fraction of the known time the service was not DOWN, or null when nothing is known of the window. */
  availability: number | null;
  downSeconds: number;
  knownSeconds: number;
}

/**
 * Availability over [fromMs, toMs) from state history: time DOWN over time
 * known. DEGRADED counts as available (it serves, with less redundancy), and so does SUSPECT (an instance whose heartbeat is
 * overdue but not confirmed DOWN); UNKNOWN (before the first heartbeat, or no data) and
 * MAINTENANCE are left out of both sides rather than counted as up or down.
 * The part of a MIXED span inside the window counts its share of the span's
 * known and down time.
 */
export function availabilityOver(spans: StateSpan[], fromMs: number, toMs: number): Availability {
  let down = 0;
  let known = 0;
  for (const s of spans) {
    const overlap = Math.max(0, Math.min(s.toMs, toMs) - Math.max(s.fromMs, fromMs));
    if (overlap === 0 || s.state === 'UNKNOWN' || s.state === 'MAINTENANCE') continue;
    if (s.state === 'MIXED') {
      const share = overlap / (s.toMs - s.fromMs);
      known += (s.knownMs ?? 0) * share;
      down += (s.downMs ?? 0) * share;
      continue;
    }
    known += overlap;
    if (s.state === 'DOWN') down += overlap;
  }
  return { availability: known > 0 ? 1 - down / known : null, downSeconds: down / 1000, knownSeconds: known / 1000 };
}

/**
 * When the state first became known in these spans (ordered, as the history
 * gives them): the service's first heartbeat, when they reach back that far;
 * null when it never was. Maintenance counts as known (the service existed).
 */
export function firstKnownMs(spans: StateSpan[]): number | null {
  for (const s of spans) {
    if (s.state === 'UNKNOWN' || (s.state === 'MIXED' && !s.knownMs)) continue;
    return s.fromMs;
  }
  return null;
}

/** Spans from an ordered list of transitions, starting in `initial` at `startMs` and ending at `endMs`. */
export function spansFrom(initial: StateSpan['state'], startMs: number, transitions: { atMs: number; to: StateSpan['state'] }[], endMs: number): StateSpan[] {
  const spans: StateSpan[] = [];
  let state = initial;
  let from = startMs;
  for (const t of transitions) {
    const at = Math.min(Math.max(t.atMs, startMs), endMs);
    if (at > from) spans.push({ state, fromMs: from, toMs: at });
    state = t.to;
    from = Math.max(from, at);
  }
  if (endMs > from) spans.push({ state, fromMs: from, toMs: endMs });
  return spans;
}

/**
 * Spans with the time inside any of `windows` (each [fromMs, toMs)) turned
 * to MAINTENANCE. Spans are ordered and do not overlap; so are the result's.
 */
export function withMaintenance(spans: StateSpan[], windows: { fromMs: number; toMs: number }[]): StateSpan[] {
  if (windows.length === 0) return spans;
  const sorted = [...windows].sort((a, b) => a.fromMs - b.fromMs);
  const out: StateSpan[] = [];
  for (const s of spans) {
    let at = s.fromMs;
    for (const w of sorted) {
      if (w.toMs <= at || w.fromMs >= s.toMs) continue;
      if (w.fromMs > at) out.push(part(s, at, w.fromMs));
      const end = Math.min(w.toMs, s.toMs);
      if (end > Math.max(at, w.fromMs)) out.push({ state: 'MAINTENANCE', fromMs: Math.max(at, w.fromMs), toMs: end });
      at = Math.max(at, end);
      if (at >= s.toMs) break;
    }
    if (at < s.toMs) out.push(part(s, at, s.toMs));
  }
  return out;
}

/** The part [fromMs, toMs) of a span (a MIXED one keeps its shares pro rata). */
function part(s: StateSpan, fromMs: number, toMs: number): StateSpan {
  if (fromMs === s.fromMs && toMs === s.toMs) return s;
  if (s.state !== 'MIXED') return { state: s.state, fromMs, toMs };
  const share = (toMs - fromMs) / (s.toMs - s.fromMs);
  return { state: 'MIXED', fromMs, toMs, knownMs: (s.knownMs ?? 0) * share, downMs: (s.downMs ?? 0) * share };
}

const DAY_MS = 86_400_000;

/** Availability of one UTC calendar day. */
export interface DayAvailability extends Availability {
  /** The day, `YYYY-MM-DD` (UTC). */
  date: string;
}

/** UTC midnight of the day `days - 1` days before the one `nowMs` falls in: the start of a `days`-day range ending today. */
export function utcDaysStart(nowMs: number, days: number): number {
  return Math.floor(nowMs / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
}

/**
 * Availability per UTC calendar day, oldest first, for `days` days from
 * `startMs` (a UTC midnight), by the rule of {@link availabilityOver}. Spans
 * ending before the last day's end (the history stops at "now") leave the
 * rest of that day out, so today is judged on its time so far. Each span is
 * handed only to the days it overlaps: linear in spans plus days.
 */
export function dailyAvailability(spans: StateSpan[], startMs: number, days: number): DayAvailability[] {
  const byDay: StateSpan[][] = Array.from({ length: days }, () => []);
  for (const s of spans) {
    const first = Math.max(0, Math.floor((s.fromMs - startMs) / DAY_MS));
    const last = Math.min(days - 1, Math.floor((s.toMs - 1 - startMs) / DAY_MS));
    for (let d = first; d <= last; d++) byDay[d].push(s);
  }
  return byDay.map((daySpans, d) => {
    const from = startMs + d * DAY_MS;
    return { date: new Date(from).toISOString().slice(0, 10), ...availabilityOver(daySpans, from, from + DAY_MS) };
  });
}

/**
 * Availability of a service together with what it depends on: `groups` are
 * in sequence (all needed), the members of a group in parallel (any one will
 * do), so a group is available unless all its members are down at once
 * (assumed independent).
 */
export function composeAvailability(own: number, groups: number[][]): number {
  let a = own;
  for (const g of groups) {
    if (g.length === 0) continue;
    a *= 1 - g.reduce((p, m) => p * (1 - m), 1);
  }
  return a;
}
