/**
 * How numbers look on screen. Pure functions (unit-tested in format.spec.ts).
 */

/** An availability fraction as a percentage with enough digits to tell the nines apart: 0.99953 → "99.953 %". */
export function percent(a: number | null | undefined): string {
  if (a === null || a === undefined || !Number.isFinite(a)) return '–';
  if (a >= 1) return '100 %';
  const p = a * 100;
  // Show one digit past the last nine, at least two decimals, at most five.
  const nines = Math.floor(ninesOf(a));
  const digits = Math.min(5, Math.max(2, nines));
  const text = p.toFixed(digits);
  // Never round up to "100.00 %" for something that was not always up.
  return `${text.startsWith('100') ? (99 + (1 - 10 ** -digits)).toFixed(digits) : text} %`;
}

/** The count of nines of an availability: 0.999 → 3, 0.9995 → 3.3; null for none or unknown. */
export function nines(a: number | null | undefined): number | null {
  if (a === null || a === undefined || !Number.isFinite(a)) return null;
  if (a >= 1) return Infinity;
  if (a <= 0) return 0;
  return Math.floor(ninesOf(a) * 10) / 10;
}

/** −log10(1 − a), nudged so 0.999 (1 − 0.999 = 0.0010000000000000009 in floating point) counts as 3, not 2.999…. */
function ninesOf(a: number): number {
  return -Math.log10(1 - a) + 1e-9;
}

/** "3 nines", "3.3 nines", "∞ nines" (never down). */
export function ninesLabel(a: number | null | undefined): string {
  const n = nines(a);
  if (n === null) return 'no data';
  if (n === Infinity) return 'never down';
  return `${n} nine${n === 1 ? '' : 's'}`;
}

/** A duration in seconds, in the two largest units: 5025 → "1 h 23 min". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [u, s] of units) {
    if (rest >= s || (parts.length === 0 && u === 's')) {
      parts.push(`${Math.floor(rest / s)} ${u}`);
      rest %= s;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** How long ago `iso` was, relative to `nowMs`: "just now", "12 s ago", "3 min ago", "2 d ago". */
export function ago(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.max(0, (nowMs - t) / 1000);
  if (s < 2) return 'just now';
  return `${duration(s).split(' ').slice(0, 2).join(' ')} ago`;
}
