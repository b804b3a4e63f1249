import type { HeartbeatStatus } from './heartbeat.js';
import type { InstanceState } from './quorum.js';

/**
 * The failure-detection state machine of one instance, as pure functions over
 * a small record (kept in Redis, one hash per instance):
 *
 *   UNKNOWN ──heartbeat──▶ UP ──ttl of silence──▶ SUSPECT ──grace──▶ DOWN
 *                           ▲                        │                 │
 *                           └──────next heartbeat────┴─────────────────┘
 *
 * `status: "down"` in a heartbeat makes it DOWN at once; `degraded` keeps it
 * UP with a degraded status. Every step that waits for time sets
 * `deadlineMs`, the moment the sweep must look at the instance again, so the
 * sweep reads only the instances that are due (a sorted set of deadlines),
 * never all of them.
 */
export interface InstanceRecord {
  state: InstanceState;
  sinceMs: number;
  reason: string | null;
  /** When the last heartbeat was received; 0 when never. */
  lastSeenMs: number;
  /** What the instance said of itself last. */
  status: HeartbeatStatus | null;
  /** When the sweep must next evaluate this instance; 0 when nothing is pending. */
  deadlineMs: number;
  /** Silence after which the instance is SUSPECT. */
  ttlMs: number;
  /** Further silence after which it is DOWN. */
  graceMs: number;
  /** The probe round confirming a silent instance, while one runs. */
  probe: string | null;
  /** Silent, but reachable from a majority of probers: the heartbeat path is broken, not the instance. */
  partitioned: boolean;
}

/** One prober's answer about an instance. */
export interface ProbeResult {
  reachable: boolean;
}

/**
 * What the sweep knows beyond the record: whether a probe round may start
 * for this instance now (probers connected, an address to probe), and the
 * answers of the round that was running.
 */
export interface DeadlineContext {
  startProbe?: { roundId: string; windowMs: number };
  probeResults?: ProbeResult[];
  /** What the instance's gossip peers say of it (agents in a gossip group), when any reported lately. */
  gossip?: { alive: number; reporters: number };
}

export interface Transition {
  from: InstanceState;
  to: InstanceState;
  atMs: number;
  reason: string;
}

export interface Step {
  record: InstanceRecord;
  /** The state change, when there was one. */
  transition: Transition | null;
  /** The record changed in a way worth storing (state, status, deadline or timings). */
  changed: boolean;
}

export const DEFAULT_INTERVAL_SECONDS = 10;

/** ttl defaults to 3 × interval and grace to one interval, as in the contract. */
export function timings(intervalSeconds: number, ttlSeconds?: number | null, graceSeconds?: number | null): { ttlMs: number; graceMs: number } {
  return { ttlMs: (ttlSeconds ?? 3 * intervalSeconds) * 1000, graceMs: (graceSeconds ?? intervalSeconds) * 1000 };
}

/** A registered instance that has never been heard from. */
export function newRecord(nowMs: number, t: { ttlMs: number; graceMs: number }): InstanceRecord {
  return { state: 'UNKNOWN', sinceMs: nowMs, reason: 'registered; no heartbeat yet', lastSeenMs: 0, status: null, deadlineMs: 0, probe: null, partitioned: false, ...t };
}

/**
 * A heartbeat received at `receivedMs`. Heartbeats older than the last one
 * seen (processed out of order by parallel workers) change nothing; one of
 * the same millisecond still counts (two requests can share it).
 */
export function applyHeartbeat(rec: InstanceRecord, hb: { receivedMs: number; status: HeartbeatStatus; ttlMs?: number; graceMs?: number; reason?: string }): Step {
  if (hb.receivedMs < rec.lastSeenMs) return { record: rec, transition: null, changed: false };
  const ttlMs = hb.ttlMs ?? rec.ttlMs;
  const graceMs = hb.graceMs ?? rec.graceMs;
  const to: InstanceState = hb.status === 'down' ? 'DOWN' : 'UP';
  const record: InstanceRecord = {
    ...rec,
    lastSeenMs: hb.receivedMs,
    status: hb.status,
    ttlMs,
    graceMs,
    probe: null,
    partitioned: false,
    // A self-reported DOWN instance has nothing to time out; a live one is due for suspicion at the end of its ttl.
    deadlineMs: to === 'DOWN' ? 0 : hb.receivedMs + ttlMs,
  };
  let transition: Transition | null = null;
  if (to !== rec.state) {
    transition = { from: rec.state, to, atMs: hb.receivedMs, reason: heartbeatReason(rec, hb.status, hb.receivedMs, hb.reason) };
    record.state = to;
    record.sinceMs = hb.receivedMs;
    record.reason = transition.reason;
  }
  // Only a state, status or timing change must be written through; a plain refresh moves lastSeen and the deadline alone.
  const changed = transition !== null || rec.status !== hb.status || rec.ttlMs !== ttlMs || rec.graceMs !== graceMs || rec.probe !== null || rec.partitioned;
  return { record, transition, changed };
}

/**
 * The sweep's look at an instance whose deadline has come. `nowMs` may lag
 * the wall clock on purpose (see the sweep's ingest watermark); a deadline
 * that a later heartbeat moved is not yet due and changes nothing.
 *
 * Quorum confirmation: a SUSPECT instance whose grace has run out is not
 * declared DOWN on its own silence when probers can look at it. A probe round
 * starts instead (`ctx.startProbe`), and when its window closes the answers
 * decide: DOWN when a majority of the probers that answered could not reach
 * it (or none answered); otherwise it stays SUSPECT as partitioned ("heartbeat
 * path broken"), looked at again after another ttl.
 */
export function applyDeadline(rec: InstanceRecord, nowMs: number, ctx: DeadlineContext = {}): Step {
  if (rec.deadlineMs === 0 || nowMs < rec.deadlineMs) return { record: rec, transition: null, changed: false };
  const silentMs = nowMs - rec.lastSeenMs;
  if (rec.state === 'UP' && silentMs >= rec.ttlMs) {
    const reason = `no heartbeat for ${seconds(silentMs)} (ttl ${seconds(rec.ttlMs)})`;
    return step(rec, 'SUSPECT', nowMs, reason, rec.lastSeenMs + rec.ttlMs + rec.graceMs);
  }
  if (rec.state === 'SUSPECT' && rec.probe !== null) {
    const answers = ctx.probeResults ?? [];
    const unreachable = answers.filter((a) => !a.reachable).length;
    const reachable = answers.length - unreachable;
    if (answers.length === 0) {
      const alive = aliveToPeers({ ...rec, probe: null }, nowMs, ctx);
      if (alive) return alive;
      return step({ ...rec, probe: null, partitioned: false }, 'DOWN', nowMs, `no heartbeat for ${seconds(silentMs)}; no prober answered in time`, 0);
    }
    if (unreachable * 2 > answers.length) {
      return step({ ...rec, probe: null, partitioned: false }, 'DOWN', nowMs, `no heartbeat for ${seconds(silentMs)}; unreachable from ${unreachable} of ${answers.length} probers`, 0);
    }
    // Reachable from a majority (or a tie): the path of its heartbeats is broken, not the instance.
    const reason = `heartbeat path broken; reachable from probers (${reachable} of ${answers.length})`;
    const record: InstanceRecord = { ...rec, probe: null, partitioned: true, reason, deadlineMs: nowMs + rec.ttlMs };
    return { record, transition: rec.partitioned ? null : { from: 'SUSPECT', to: 'SUSPECT', atMs: nowMs, reason }, changed: true };
  }
  if (rec.state === 'SUSPECT' && silentMs >= rec.ttlMs + rec.graceMs) {
    if (ctx.startProbe) {
      return { record: { ...rec, probe: ctx.startProbe.roundId, deadlineMs: nowMs + ctx.startProbe.windowMs }, transition: null, changed: true };
    }
    const alive = aliveToPeers(rec, nowMs, ctx);
    if (alive) return alive;
    const reason = rec.partitioned
      ? `no heartbeat for ${seconds(silentMs)}; no prober left to confirm it is reachable`
      : `no heartbeat for ${seconds(silentMs)} (ttl ${seconds(rec.ttlMs)} + grace ${seconds(rec.graceMs)})`;
    return step({ ...rec, partitioned: false }, 'DOWN', nowMs, reason, 0);
  }
  // Due, but not silent long enough for its state (timings changed since the deadline was set): look again at the right time.
  const next = rec.state === 'UP' ? rec.lastSeenMs + rec.ttlMs : rec.state === 'SUSPECT' ? rec.lastSeenMs + rec.ttlMs + rec.graceMs : 0;
  return { record: { ...rec, deadlineMs: next }, transition: null, changed: next !== rec.deadlineMs };
}

/**
 * No prober settled it: when most of the instance's gossip peers that
 * reported lately still see it alive, its host is up and only the path of its
 * heartbeats is broken. It stays SUSPECT (partitioned), looked at again after
 * a ttl; a null answer lets it go DOWN.
 */
function aliveToPeers(rec: InstanceRecord, nowMs: number, ctx: DeadlineContext): Step | null {
  const g = ctx.gossip;
  if (!g || g.alive === 0 || g.alive * 2 <= g.reporters) return null;
  const reason = `heartbeat path broken; alive according to its gossip peers (${g.alive} of ${g.reporters})`;
  const record: InstanceRecord = { ...rec, partitioned: true, reason, deadlineMs: nowMs + rec.ttlMs };
  return { record, transition: rec.partitioned ? null : { from: 'SUSPECT', to: 'SUSPECT', atMs: nowMs, reason }, changed: true };
}

/** The sweep may start a probe round for this due instance (it would otherwise go DOWN now). */
export function wantsProbe(rec: InstanceRecord, nowMs: number): boolean {
  return rec.state === 'SUSPECT' && rec.probe === null && rec.deadlineMs !== 0 && nowMs >= rec.deadlineMs && nowMs - rec.lastSeenMs >= rec.ttlMs + rec.graceMs;
}

/** Moves a due instance's deadline by `gapMs` without judging it: the control plane itself was not looking (see the self-health guard). */
export function postpone(rec: InstanceRecord, gapMs: number): Step {
  if (rec.deadlineMs === 0) return { record: rec, transition: null, changed: false };
  return { record: { ...rec, deadlineMs: rec.deadlineMs + gapMs }, transition: null, changed: true };
}

function step(rec: InstanceRecord, to: InstanceState, atMs: number, reason: string, deadlineMs: number): Step {
  const transition: Transition = { from: rec.state, to, atMs, reason };
  return { record: { ...rec, state: to, sinceMs: atMs, reason, deadlineMs }, transition, changed: true };
}

/** Why a heartbeat changed the state; `reported` is the heartbeat's own reason (its failing check), if any. */
function heartbeatReason(rec: InstanceRecord, status: HeartbeatStatus, atMs: number, reported?: string): string {
  if (status === 'down') return reported ? `the instance reported itself down: ${reported}` : 'the instance reported itself down';
  switch (rec.state) {
    case 'UNKNOWN':
      return 'first heartbeat';
    case 'SUSPECT':
      return `heartbeat received after ${seconds(atMs - rec.lastSeenMs)} of silence`;
    case 'DOWN':
      return rec.status === 'down' ? 'the instance reported itself up again' : `heartbeat received; down since ${new Date(rec.sinceMs).toISOString()}`;
    default:
      return 'heartbeat received';
  }
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}
