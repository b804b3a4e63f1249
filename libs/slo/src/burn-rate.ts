/**
 * Error budgets and burn rates, as in the Google SRE workbook ("Alerting on
 * SLOs"). Pure functions; the evaluator feeds them counts from the rollups.
 *
 * An SLO with objective 0.999 allows an error ratio of 0.001: its error
 * budget. The burn rate of a window is the error ratio seen in it divided by
 * that allowance: 1 spends the budget exactly over the SLO window, 14.4
 * spends 2 % of a 30-day budget in one hour.
 */

/** Good and total events (or seconds, for a time-based SLI) seen in one window. */
export interface WindowCounts {
  good: number;
  total: number;
}

/** The windows burn rates are reported for, in seconds. */
export const BURN_WINDOWS = { '5m': 300, '30m': 1800, '1h': 3600, '6h': 21_600, '1d': 86_400, '3d': 259_200 } as const;
export type BurnWindow = keyof typeof BURN_WINDOWS;
/** Their names, shortest first. */
export const BURN_WINDOW_NAMES: readonly BurnWindow[] = Object.freeze(Object.keys(BURN_WINDOWS) as BurnWindow[]);

/** How fast a window spends the budget: error ratio / (1 − objective); null when the window saw nothing. */
export function burnRate(counts: WindowCounts, objective: number): number | null {
  if (!(objective > 0 && objective < 1)) throw new RangeError('objective must be within (0, 1)');
  if (counts.total <= 0) return null;
  const bad = Math.max(0, counts.total - counts.good);
  return bad / counts.total / (1 - objective);
}

/** Share of a `windowDays` budget that burning at `rate` for `seconds` spends: 14.4 for 1 h of 30 d → 0.02. */
export function budgetSpent(rate: number, seconds: number, windowDays: number): number {
  return (rate * seconds) / (windowDays * 86_400);
}

export interface ErrorBudget {
  /** Bad events (or seconds) the objective allows over the window so far. */
  allowed: number;
  /** Bad events (or seconds) seen. */
  consumed: number;
  /** Share of the budget left, 1 → untouched, 0 → spent, negative → overspent; null without data. */
  remaining: number | null;
}

/**
 * The error budget of an SLO window from its counts. Event-based SLIs may
 * fail (1 − objective) of the events seen; time-based ones (`windowSeconds`
 * given) may be down (1 − objective) of the whole window, seen or not yet.
 */
export function errorBudget(counts: WindowCounts, objective: number, windowSeconds?: number): ErrorBudget {
  const allowed = (1 - objective) * (windowSeconds ?? counts.total);
  const consumed = Math.max(0, counts.total - counts.good);
  return { allowed, consumed, remaining: allowed > 0 ? 1 - consumed / allowed : null };
}

export type Severity = 'page' | 'ticket';

export interface AlertRule {
  severity: Severity;
  longWindow: BurnWindow;
  shortWindow: BurnWindow;
  /** Both windows must burn at least this fast. */
  burnRate: number;
}

/**
 * The workbook's multi-window, multi-burn-rate policy for a 30-day SLO: page
 * at 14.4 (2 % of the budget in 1 h) and 6 (5 % in 6 h), ticket at 1 (10 % in
 * 3 d). Each long window is confirmed by a short one (1/12 of it), so an alert
 * stops soon after the burning does.
 */
export const DEFAULT_POLICY: readonly AlertRule[] = [
  { severity: 'page', longWindow: '1h', shortWindow: '5m', burnRate: 14.4 },
  { severity: 'page', longWindow: '6h', shortWindow: '30m', burnRate: 6 },
  { severity: 'ticket', longWindow: '3d', shortWindow: '6h', burnRate: 1 },
];

/**
 * The policy for an SLO window other than 30 days: the same share of the
 * budget in the same time, so the thresholds scale with the window (a 7-day
 * SLO pages at 14.4 × 7 / 30 = 3.36).
 */
export function policyFor(windowDays: number): readonly AlertRule[] {
  let policy = policies.get(windowDays);
  if (!policy) policies.set(windowDays, (policy = scaledPolicy(windowDays)));
  return policy;
}

/** Policies by window length (a handful: 1 to 90 days): the leader asks for one per SLO per run. */
const policies = new Map<number, readonly AlertRule[]>();

function scaledPolicy(windowDays: number): readonly AlertRule[] {
  // Frozen: every caller shares it.
  return Object.freeze(DEFAULT_POLICY.map((r) => ({ severity: r.severity, longWindow: r.longWindow, shortWindow: r.shortWindow, burnRate: Number(((r.burnRate * windowDays) / 30).toPrecision(6)) })).map((r) => Object.freeze(r)));
}

export interface AlertState extends AlertRule {
  firing: boolean;
  /** Burn rates seen in the two windows (null: no events). */
  longBurnRate: number | null;
  shortBurnRate: number | null;
  /** Why a burning window does not fire: too few events in the long window to judge. */
  suppressed: string | null;
}

/**
 * Evaluates the rules against the counts of each window. With fewer than
 * `minEvents` events in its long window, a page does not fire (one failed
 * request out of three is a 33 % error ratio, not an outage: Pyrra's
 * low-traffic problem); the state says so. Tickets are not held back: they
 * look at three days.
 */
export function evaluateAlerts(counts: Record<BurnWindow, WindowCounts>, objective: number, rules: readonly AlertRule[], minEvents = 0): AlertState[] {
  return rules.map((rule) => {
    const long = counts[rule.longWindow];
    const longBurnRate = burnRate(long, objective);
    const shortBurnRate = burnRate(counts[rule.shortWindow], objective);
    // "At least" up to floating-point noise: 0.0144 / 0.001 is 14.399999999999999.
    const atLeast = (rate: number | null) => rate !== null && rate >= rule.burnRate * (1 - 1e-9);
    const burning = atLeast(longBurnRate) && atLeast(shortBurnRate);
    const tooFew = rule.severity === 'page' && long.total < minEvents;
    // Properties spelled out: `{ ...rule, firing, … }` costs microseconds per object on Node 20, and the leader builds three per SLO per run.
    return {
      severity: rule.severity,
      longWindow: rule.longWindow,
      shortWindow: rule.shortWindow,
      burnRate: rule.burnRate,
      firing: burning && !tooFew,
      longBurnRate,
      shortBurnRate,
      suppressed: burning && tooFew ? `only ${long.total} events in ${rule.longWindow} (fewer than ${minEvents}): too few to page on` : null,
    };
  });
}
