/**
 * The nines table: how much downtime an availability allows. A year is
 * 365.25 days (leap years included), a month a twelfth of it (30.44 days),
 * as in the SRE books and most SLA calculators; a week 7 days, a day 24 h.
 */
export const PERIOD_SECONDS = {
  year: 365.25 * 86_400,
  month: (365.25 * 86_400) / 12,
  week: 7 * 86_400,
  day: 86_400,
} as const;

export interface NinesRow {
  /** The availability as a fraction in [0, 1]. */
  availability: number;
  /** The same in percent. */
  percent: number;
  /** −log10(1 − availability): 3 for 99.9 %, 3.3 for 99.95 %; null for 100 % (no downtime at all). */
  nines: number | null;
  /** Downtime the availability allows per period, in seconds. */
  allowedDowntimeSeconds: Record<keyof typeof PERIOD_SECONDS, number>;
}

/** Rounds away floating-point noise (1 − 0.999 = 0.0010000000000000009) without hiding real digits. */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}

/** The nines row of an availability fraction in [0, 1]. */
export function ninesRow(availability: number): NinesRow {
  if (!(availability >= 0 && availability <= 1)) throw new RangeError('availability must be within [0, 1]');
  const unavailable = clean(1 - availability);
  return {
    availability: clean(availability),
    percent: clean(availability * 100),
    nines: unavailable === 0 ? null : clean(-Math.log10(unavailable)),
    allowedDowntimeSeconds: {
      year: clean(unavailable * PERIOD_SECONDS.year),
      month: clean(unavailable * PERIOD_SECONDS.month),
      week: clean(unavailable * PERIOD_SECONDS.week),
      day: clean(unavailable * PERIOD_SECONDS.day),
    },
  };
}

/** The availability of a count of nines: 3 → 0.999, 3.5 → 0.99968…. */
export function availabilityOfNines(nines: number): number {
  return 1 - 10 ** -nines;
}
