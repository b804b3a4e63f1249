/**
 * Phi-accrual failure detection (Hayashibara et al., 2004; as in Akka's
 * PhiAccrualFailureDetector and Cassandra), as pure functions over a tiny
 * JSON-serialisable record.
 *
 * Instead of a fixed ttl, the detector learns each instance's own rhythm (the
 * distribution of the gaps between its heartbeats) and expresses suspicion as
 * phi = -log10(P(a gap at least this long)). phi 8 means "a gap this long
 * happens once in 10^8 intervals if the instance is alive": a jittery
 * instance earns more slack than a metronomic one without per-instance tuning.
 *
 * Two choices follow from running it for 100,000 instances kept in Redis:
 * - the state is four numbers (an exponentially weighted mean and variance,
 *   not Akka's window of samples), so it fits in a hash field;
 * - phi is never evaluated continuously. On each heartbeat the control plane
 *   calls {@link suspectAtMs} for the moment phi will cross the threshold and
 *   schedules one check then (the deadline sorted set); {@link phi} itself is
 *   for display and for that check.
 */

/** Serialisable inter-arrival statistics: exponentially weighted mean and variance of the gaps between heartbeats. */
export interface InterArrivalStats {
  /** Number of gaps recorded (one fewer than the heartbeats, once there is one). */
  count: number;
  meanMs: number;
  varianceMs2: number;
  /** When the last heartbeat arrived; null before the first. */
  lastMs: number | null;
}

export interface PhiOptions {
  /** Suspicion level at which the instance is suspected. Akka's default is 8; 1 to 16 are sensible. */
  threshold: number;
  /**
   * Floor for the standard deviation. A perfectly regular sender would otherwise
   * have a near-zero deviation and be suspected a few ms after a late beat
   * (one GC pause, one slow network hop).
   */
  minStdDeviationMs: number;
  /** Added to the mean: silence tolerated on top of the learnt rhythm (Akka's acceptableHeartbeatPause). */
  acceptablePauseMs: number;
  /** The interval the agent announced (intervalSeconds × 1000), used until enough gaps are known. */
  firstIntervalMs: number;
  /** EWMA weight of a new gap; 0.1 weighs roughly the last 20 gaps. */
  weight: number;
  /**
   * With fewer gaps than this (at least 1), phi assumes mean firstIntervalMs and
   * std dev firstIntervalMs / 4 (Akka's bootstrap): two or three gaps say little
   * about a rhythm, and a deviation learnt from them is usually near zero.
   */
  minSamples: number;
}

/** Akka's defaults, except acceptablePauseMs (0: the ttl/grace of the state machine already covers pauses). */
export const DEFAULT_PHI_OPTIONS: Readonly<Omit<PhiOptions, 'firstIntervalMs'>> = Object.freeze({
  threshold: 8,
  minStdDeviationMs: 500,
  acceptablePauseMs: 0,
  weight: 0.1,
  minSamples: 3,
});

/**
 * The largest value {@link phi} returns. The formula stays finite far beyond
 * anything meaningful (a probability of 10^-300 is already below what a double
 * holds), but for absurd silences or timestamps it would reach Infinity, which
 * JSON turns into null and which breaks comparisons and arithmetic downstream.
 * A dead instance with 1 s heartbeats reaches the cap after a few minutes;
 * thresholds above it are treated as the cap.
 */
export const PHI_MAX = 1_000_000;

/**
 * Sanity bound on one recorded gap (a year). Real gaps are bounded much more
 * tightly by the suspicion horizon (see {@link recordArrival}); this only keeps
 * the statistics finite whatever timestamps a corrupt input brings.
 */
const MAX_SAMPLE_MS = 365 * 24 * 3600 * 1000;

/** Last-resort floor for the std dev, so a misconfigured minStdDeviationMs of 0 never divides by zero. */
const MIN_STD_MS = 1e-3;

// Akka's logistic approximation of the standard normal CDF: F(y) ≈ 1 / (1 + exp(-z)), z = y(A + B y²).
const A = 1.5976;
const B = 0.070566;

/** No heartbeat yet. */
export function emptyStats(): InterArrivalStats {
  return { count: 0, meanMs: 0, varianceMs2: 0, lastMs: null };
}

/**
 * Records a heartbeat arriving at nowMs; returns new stats (the input is not
 * changed).
 *
 * - Heartbeats at or before the last one (out of order, or a duplicate in the
 *   same millisecond, as parallel workers may deliver them) add no sample and
 *   return the input itself: a 0 ms gap is a redelivery, not a rhythm.
 * - For the first 1/weight gaps the weight is 1/count, so the statistics are the
 *   plain mean and variance of what has been seen rather than an average
 *   dragged towards the initial 0 (the usual EWMA warm-up).
 * - A gap longer than the suspicion horizon (the silence after which the
 *   instance was due to be suspected) is recorded as the horizon. Counted in
 *   full, one hour-long outage would inflate mean and variance so much that
 *   the instance could die again unnoticed for many intervals; dropped
 *   altogether (Akka), a genuine slowdown (the agent now beats every 5 s
 *   instead of 1 s) would never be learnt and the instance would be suspected
 *   on every beat. Clamped, each such gap widens the horizon by a bounded step,
 *   so a real slowdown is learnt within a beat or two and an outage costs only
 *   a briefly looser detector.
 */
export function recordArrival(stats: InterArrivalStats, nowMs: number, opts: PhiOptions): InterArrivalStats {
  if (!Number.isFinite(nowMs)) return stats;
  if (stats.lastMs === null) return { ...stats, lastMs: nowMs };
  if (nowMs <= stats.lastMs) return stats;
  const d = distribution(stats, opts);
  // Never clamp below the expected gap, whatever (absurdly low) threshold is configured.
  const horizonMs = Math.max(d.mean, d.mean + yForPhi(effectiveThreshold(opts.threshold)) * d.std);
  const sample = Math.min(nowMs - stats.lastMs, horizonMs, MAX_SAMPLE_MS);
  const count = stats.count + 1;
  const w = Math.min(1, Math.max(opts.weight, 1 / count));
  // Incremental exponentially weighted mean and variance (Finch, 2009).
  const diff = sample - stats.meanMs;
  const incr = w * diff;
  return { count, meanMs: stats.meanMs + incr, varianceMs2: (1 - w) * (stats.varianceMs2 + diff * incr), lastMs: nowMs };
}

/**
 * The suspicion level at nowMs: -log10(P(gap > nowMs - lastMs)), the gaps taken
 * as normally distributed with the learnt mean (plus acceptablePauseMs) and std
 * dev (at least minStdDeviationMs), using Akka's logistic approximation of the
 * normal CDF. 0 when no heartbeat yet.
 *
 * With z = y(1.5976 + 0.070566 y²) and y = (t - mean) / std, the tail is
 * 1 / (1 + e^z), so phi = log10(1 + e^z) = log1p(e^z) / ln 10, which neither
 * underflows to log10(0) for long silences (Akka's e/(1+e) does) nor loses
 * precision for short ones; for z > 40, log1p(e^z) equals z to double
 * precision and z / ln 10 is used, which cannot overflow. The result is non-
 * decreasing in nowMs and capped at {@link PHI_MAX}. A nowMs before the last
 * heartbeat (clock skew between workers) counts as no silence at all.
 */
export function phi(stats: InterArrivalStats, nowMs: number, opts: PhiOptions): number {
  if (stats.lastMs === null) return 0;
  return phiAfter(nowMs - stats.lastMs, distribution(stats, opts));
}

/**
 * The earliest time at which phi reaches opts.threshold, for scheduling the one
 * check that matters instead of evaluating phi continuously. Consistent with
 * {@link phi} to the millisecond: phi(result - 1) < threshold <= phi(result),
 * for integer timestamps. null when no heartbeat yet.
 *
 * The inverse is analytic: phi = θ gives z = ln(10^θ - 1), and
 * 0.070566 y³ + 1.5976 y - z = 0 is a depressed cubic with a positive linear
 * coefficient, so it has exactly one real root, taken in its hyperbolic form
 * (no cancellation near y = 0, unlike Cardano's). That estimate is then
 * corrected by a bounded integer search against phi() itself, so rounding can
 * never make the scheduled check fire a millisecond before phi says so.
 * Thresholds above {@link PHI_MAX} are treated as PHI_MAX; a threshold already
 * reached at the last heartbeat (below log10 2, nonsensical) gives lastMs.
 */
export function suspectAtMs(stats: InterArrivalStats, opts: PhiOptions): number | null {
  const last = stats.lastMs;
  if (last === null) return null;
  const d = distribution(stats, opts);
  const theta = effectiveThreshold(opts.threshold);
  // Exactly what phi(stats, last + e, opts) computes, so the search agrees with phi() to the bit.
  const reached = (e: number): boolean => phiAfter(last + e - last, d) >= theta;
  if (reached(0)) return last;
  const estimate = Math.max(1, Math.ceil(d.mean + yForPhi(theta) * d.std));
  // Invariant: !reached(lo) && reached(hi). The estimate is normally within a
  // millisecond, so both loops run once or twice; they are bounded regardless.
  let lo: number;
  let hi: number;
  if (reached(estimate)) {
    hi = estimate;
    lo = estimate - 1;
    for (let step = 2, i = 0; reached(lo) && i < 64; step *= 2, i++) {
      hi = lo;
      lo = Math.max(0, lo - step);
    }
  } else {
    lo = estimate;
    hi = estimate + 1;
    for (let step = 2, i = 0; !reached(hi) && i < 64; step *= 2, i++) {
      lo = hi;
      hi += step;
    }
  }
  for (let i = 0; hi - lo > 1 && i < 128; i++) {
    const mid = Math.floor(lo + (hi - lo) / 2);
    if (reached(mid)) hi = mid;
    else lo = mid;
  }
  return last + hi;
}

interface Distribution {
  mean: number;
  std: number;
}

function distribution(stats: InterArrivalStats, opts: PhiOptions): Distribution {
  // Without a single gap there is nothing learnt to use, whatever minSamples says.
  const bootstrapping = stats.count < Math.max(1, opts.minSamples);
  const mean = (bootstrapping ? opts.firstIntervalMs : stats.meanMs) + opts.acceptablePauseMs;
  const std = bootstrapping ? opts.firstIntervalMs / 4 : Math.sqrt(stats.varianceMs2);
  return { mean, std: Math.max(std, opts.minStdDeviationMs, MIN_STD_MS) };
}

function phiAfter(elapsedMs: number, d: Distribution): number {
  const y = (Math.max(0, elapsedMs) - d.mean) / d.std;
  const z = y * (A + B * y * y);
  const p = z > 40 ? z / Math.LN10 : Math.log1p(Math.exp(z)) / Math.LN10;
  return Math.min(p, PHI_MAX);
}

function effectiveThreshold(threshold: number): number {
  return Math.min(threshold, PHI_MAX);
}

/** The y at which phi reaches theta (> 0): the real root of B y³ + A y - z = 0 with z = ln(10^θ - 1). */
function yForPhi(theta: number): number {
  if (!(theta > 0)) return -Infinity;
  const x = theta * Math.LN10;
  const z = x + Math.log1p(-Math.exp(-x));
  // y³ + p y + q = 0 with p > 0: y = -2 √(p/3) sinh(asinh(3q/(2p) √(3/p)) / 3).
  const p = A / B;
  const q = -z / B;
  return -2 * Math.sqrt(p / 3) * Math.sinh(Math.asinh(((3 * q) / (2 * p)) * Math.sqrt(3 / p)) / 3);
}
