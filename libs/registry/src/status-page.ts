/**
 * Shared with the status page in the browser (apps/dashboard/src/status-main.tsx),
 * which applies live updates with the same rule: keep this file free of imports.
 */
type ServiceState = 'UP' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';

/** What a public status page says of the whole system (Statuspage's words). */
export const OverallState = {
  Operational: 'operational',
  Degraded: 'degraded',
  PartialOutage: 'partial_outage',
  MajorOutage: 'major_outage',
  Unknown: 'unknown',
} as const;
export type OverallState = (typeof OverallState)[keyof typeof OverallState];

/**
 * The overall state of a set of services. Services in UNKNOWN (never heard
 * from) are left out, as they are of availability: any DOWN is a major
 * outage when every known service is DOWN, else a partial one; otherwise any
 * DEGRADED is degraded; all UP is operational; nothing known is unknown.
 */
export function overallState(states: ServiceState[]): OverallState {
  const known = states.filter((s) => s !== 'UNKNOWN');
  if (known.length === 0) return OverallState.Unknown;
  const down = known.filter((s) => s === 'DOWN').length;
  if (down === known.length) return OverallState.MajorOutage;
  if (down > 0) return OverallState.PartialOutage;
  if (known.includes('DEGRADED')) return OverallState.Degraded;
  return OverallState.Operational;
}
