import { BURN_WINDOW_NAMES } from './burn-rate.js';
import type { SloRow, SloView } from './slo.service.js';

/** An SLO as stored, with its last evaluation. */
export type StoredSlo = SloRow & { evaluatedAt: Date | null; sliValue: number | null; budgetRemaining: number | null; firing: string[]; burnRates: Record<string, number | null> | null };

/** Stored figures are rewritten at least this often, so `evaluatedAt` is never older. */
const RESTORE_MS = 5 * 60_000;

/**
 * Whether an evaluation differs enough from what is stored to rewrite it:
 * alert rules firing, the budget by 0.01 % of it, the SLI by 0.0001 %, a burn
 * rate by 1 % (or appearing/vanishing); or the stored figures are older than
 * RESTORE_MS. Counts that grow a little every run then cost no write.
 */
export function changed(stored: Pick<StoredSlo, 'evaluatedAt' | 'sliValue' | 'budgetRemaining' | 'firing' | 'burnRates'>, view: SloView, nowMs: number): boolean {
  if (!stored.evaluatedAt || nowMs - stored.evaluatedAt.getTime() >= RESTORE_MS) return true;
  if (firingOf(view).join() !== stored.firing.join()) return true;
  if (apart(stored.budgetRemaining, view.errorBudget.remaining, 0.0001) || apart(stored.sliValue, view.sli.value, 0.000001)) return true;
  // A loop over the windows, not Object.entries: the leader asks this of every SLO every run.
  for (const w of BURN_WINDOW_NAMES) {
    const was = stored.burnRates?.[w] ?? null;
    if (apart(was, view.burnRates[w], Math.max(0.01 * Math.abs(was ?? 0), 1e-9))) return true;
  }
  return false;
}

/** Whether two figures (null: none) differ by `by` or more, or one is missing. */
export function apart(a: number | null | undefined, b: number | null, by: number): boolean {
  const x = a ?? null;
  return x === null || b === null ? x !== b : Math.abs(x - b) >= by;
}

/** Each view's firing rules, worked out once (the leader asks for them several times per SLO). */
const firingOfView = new WeakMap<SloView, string[]>();

/** The alert rules that fire, as "<severity>:<longWindow>". */
export function firingOf(view: SloView): string[] {
  let firing = firingOfView.get(view);
  if (!firing) {
    firing = [];
    for (const a of view.alerts) if (a.firing) firing.push(`${a.severity}:${a.longWindow}`);
    firingOfView.set(view, firing);
  }
  return firing;
}
