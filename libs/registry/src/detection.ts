import { DEFAULT_FLAP_OPTIONS, evaluateFlapping, type FlapState, recordChange } from './flap-detector.js';
import type { HeartbeatStatus } from './heartbeat.js';
import { applyHeartbeat, type InstanceRecord, type Transition, timings } from './instance-state.js';
import { DEFAULT_PHI_OPTIONS, emptyStats, type InterArrivalStats, type PhiOptions, recordArrival, suspectAtMs } from './phi-accrual.js';

/** What decides how an instance's silence is judged. */
export interface DetectorSettings {
  intervalSeconds: number;
  ttlSeconds: number | null;
  graceSeconds: number | null;
  detector: 'fixed' | 'phi';
  phiThreshold: number;
}

export interface BeatsOutcome {
  record: InstanceRecord;
  phi: InterArrivalStats | null;
  flap: FlapState;
  transitions: Transition[];
}

/**
 * Applies an instance's heartbeats, in order, to its record: with the fixed
 * detector the ttl is the configured one; with phi-accrual each heartbeat
 * updates the inter-arrival statistics and the ttl becomes the time at which
 * phi will cross the service's threshold. State changes feed flap damping.
 */
export function applyBeats(
  record: InstanceRecord,
  phi: InterArrivalStats | null,
  flap: FlapState,
  beats: { receivedMs: number; status: HeartbeatStatus; intervalSeconds?: number; reason?: string }[],
  s: DetectorSettings,
): BeatsOutcome {
  const transitions: Transition[] = [];
  let stats = s.detector === 'phi' ? (phi ?? emptyStats()) : null;
  for (const b of beats) {
    const interval = b.intervalSeconds ?? s.intervalSeconds;
    const t = timings(interval, s.ttlSeconds, s.graceSeconds);
    let ttlMs = t.ttlMs;
    if (stats) {
      const opts = phiOptions(s.phiThreshold, interval);
      stats = recordArrival(stats, b.receivedMs, opts);
      const at = suspectAtMs(stats, opts);
      // Never judged sooner than one interval: a burst of early beats must not make the next normal gap suspicious.
      if (at !== null) ttlMs = Math.max(interval * 1000, at - b.receivedMs);
    }
    const step = applyHeartbeat(record, { receivedMs: b.receivedMs, status: b.status, ttlMs, graceMs: t.graceMs, reason: b.reason });
    record = step.record;
    if (step.transition) {
      transitions.push(step.transition);
      flap = recordChange(flap, step.transition.atMs, DEFAULT_FLAP_OPTIONS);
    }
  }
  return { record, phi: stats, flap, transitions };
}

/** Flap state after a sweep's transition (or none). */
export function flapAfter(flap: FlapState, transition: Transition | null, nowMs: number): FlapState {
  return transition && transition.from !== transition.to ? recordChange(flap, transition.atMs, DEFAULT_FLAP_OPTIONS) : evaluateFlapping(flap, nowMs, DEFAULT_FLAP_OPTIONS);
}

export function isFlapping(flap: FlapState, nowMs: number): boolean {
  return evaluateFlapping(flap, nowMs, DEFAULT_FLAP_OPTIONS).flapping;
}

function phiOptions(threshold: number, intervalSeconds: number): PhiOptions {
  return { ...DEFAULT_PHI_OPTIONS, threshold, firstIntervalMs: intervalSeconds * 1000 };
}
