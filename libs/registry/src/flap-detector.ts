/**
 * Flap detection: an instance that changes state more than maxChanges times
 * within windowMs is "flapping". The dashboard shows it as such and alerts for
 * its individual transitions are suppressed, so one unstable instance does not
 * page someone every minute.
 *
 * This is Nagios/Icinga flap detection simplified to a plain count in a sliding
 * window (no weighted percentage over the last 21 checks), keeping its
 * hysteresis: flapping starts above maxChanges but ends only at
 * floor(maxChanges / 2) or fewer, so an instance hovering around the limit
 * does not make the flapping verdict itself flap.
 *
 * The state is small and JSON-serialisable (kept in Redis per instance), and
 * time is always passed in. A change at time c counts while nowMs < c + windowMs.
 * Time is assumed to go forward: a nowMs earlier than the newest recorded change
 * is taken as that change's time.
 */

export interface FlapOptions {
  /** N: more changes than this within the window is flapping (a non-negative integer). */
  maxChanges: number;
  /** M: the sliding window. */
  windowMs: number;
}

/** 5 changes in 10 minutes is still an unstable but honest instance; the 6th makes it flapping. */
export const DEFAULT_FLAP_OPTIONS: Readonly<FlapOptions> = Object.freeze({ maxChanges: 5, windowMs: 10 * 60_000 });

export interface FlapState {
  /**
   * Times of the recent state changes, oldest first, newest last. Only changes
   * still within the window are kept, and at most maxChanges + 1 of them: the
   * start rule needs to know whether the count exceeds maxChanges, the end rule
   * whether it is at most floor(maxChanges / 2) (smaller), so a count exact up
   * to maxChanges + 1 answers both; and since the kept ones are the newest, they
   * are the last to leave the window, which is all {@link nextFlapCheckMs} needs.
   */
  changesMs: number[];
  flapping: boolean;
  /** When the current flapping episode started; null when not flapping. */
  sinceMs: number | null;
}

/** Never changed state. */
export function emptyFlapState(): FlapState {
  return { changesMs: [], flapping: false, sinceMs: null };
}

/**
 * Records a state change at nowMs and re-evaluates. Flapping starts when the
 * number of changes within windowMs exceeds maxChanges; an ongoing episode can
 * also end here (after a long quiet nobody swept, one change is no flapping).
 * The input is not changed.
 */
export function recordChange(s: FlapState, nowMs: number, opts: FlapOptions): FlapState {
  const changes = [...s.changesMs];
  let i = changes.length;
  while (i > 0 && changes[i - 1] > nowMs) i--;
  changes.splice(i, 0, nowMs);
  return settle(s, changes, changes[changes.length - 1], opts);
}

/**
 * Re-evaluates without a new change (called by a sweep at the time given by
 * {@link nextFlapCheckMs}): flapping ends only when the changes within windowMs
 * fall to floor(maxChanges / 2) or fewer (hysteresis). Changes that have left
 * the window are dropped. Returns the input itself when nothing changed, so a
 * caller can skip the write with `next !== s`.
 */
export function evaluateFlapping(s: FlapState, nowMs: number, opts: FlapOptions): FlapState {
  const newest = s.changesMs.length > 0 ? s.changesMs[s.changesMs.length - 1] : nowMs;
  const next = settle(s, s.changesMs, Math.max(nowMs, newest), opts);
  const same = next.flapping === s.flapping && next.sinceMs === s.sinceMs && next.changesMs.length === s.changesMs.length;
  return same ? s : next;
}

/**
 * When the flapping verdict could next change without a new state change, for
 * scheduling a re-check; null when it cannot. Without new changes the count in
 * the window only falls, so a non-flapping instance stays so (null), and a
 * flapping one stops at the moment its (floor(maxChanges / 2) + 1)-th newest
 * change leaves the window: evaluateFlapping is still flapping one millisecond
 * earlier and not at that time. For a stale state that is already due, a time
 * in its past is returned.
 */
export function nextFlapCheckMs(s: FlapState, opts: FlapOptions): number | null {
  if (!s.flapping) return null;
  const idx = s.changesMs.length - 1 - releaseBound(opts);
  if (idx < 0) return s.changesMs[s.changesMs.length - 1] ?? s.sinceMs ?? 0;
  return s.changesMs[idx] + opts.windowMs;
}

function maxChanges(opts: FlapOptions): number {
  return Math.max(0, Math.floor(opts.maxChanges));
}

/** Flapping ends at this many changes in the window or fewer. */
function releaseBound(opts: FlapOptions): number {
  return Math.floor(maxChanges(opts) / 2);
}

/** The verdict at atMs over `changes` (sorted), from the previous verdict in `prev`. */
function settle(prev: FlapState, changes: readonly number[], atMs: number, opts: FlapOptions): FlapState {
  const cutoff = atMs - opts.windowMs;
  let from = changes.length;
  while (from > 0 && changes[from - 1] > cutoff) from--;
  const kept = changes.slice(Math.max(from, changes.length - (maxChanges(opts) + 1)));
  // kept.length is the exact count in the window up to maxChanges + 1, which both rules compare below.
  const flapping = prev.flapping ? kept.length > releaseBound(opts) : kept.length > maxChanges(opts);
  const sinceMs = flapping ? (prev.flapping ? (prev.sinceMs ?? atMs) : atMs) : null;
  return { changesMs: kept, flapping, sinceMs };
}
