import type { ClusterRole } from './heartbeat.js';
import type { InstanceState } from './quorum.js';

/** A member of a consensus cluster as its heartbeats describe it. */
export interface ClusterMember {
  name: string;
  state: InstanceState;
  role: ClusterRole | null;
  term: number | null;
}

export interface ClusterView {
  /** Some member reported a role: this service is watched as a cluster. */
  hasRoles: boolean;
  /** The one live member claiming leadership in the highest term, or null (none, or a split brain). */
  leader: { name: string; term: number | null } | null;
  /** Two or more live members claim leadership in the same term. */
  splitBrain: { term: number | null; members: string[] } | null;
}

const LEADER_ROLES: ReadonlySet<ClusterRole> = new Set(['leader', 'primary']);

/**
 * Who leads a cluster, from its live members' own claims. Members that are
 * not UP do not count (a dead leader is no leader). Two claimants in one term
 * are a split brain (Raft forbids it; a primary/replica pair after a botched
 * failover shows it); claimants in different terms are a stale leader that has
 * not noticed yet, and the higher term wins.
 */
export function clusterView(members: ClusterMember[]): ClusterView {
  const hasRoles = members.some((m) => m.role !== null);
  const claimants = members.filter((m) => m.state === 'UP' && m.role !== null && LEADER_ROLES.has(m.role));
  const byTerm = new Map<string, ClusterMember[]>();
  for (const c of claimants) {
    const k = String(c.term);
    byTerm.set(k, [...(byTerm.get(k) ?? []), c]);
  }
  let splitBrain: ClusterView['splitBrain'] = null;
  for (const group of byTerm.values()) {
    if (group.length > 1) {
      const term = group[0].term;
      if (!splitBrain || (term ?? -1) > (splitBrain.term ?? -1)) splitBrain = { term, members: group.map((m) => m.name).sort() };
    }
  }
  const top = [...claimants].sort((a, b) => (b.term ?? -1) - (a.term ?? -1));
  const leader = splitBrain || top.length === 0 || (top.length > 1 && top[0].term === top[1].term) ? null : { name: top[0].name, term: top[0].term };
  return { hasRoles, leader, splitBrain };
}

/** Elections within the window beyond `max` are churn. Returns the times still inside the window, newest last. */
export function electionsInWindow(timesMs: number[], nowMs: number, windowMs: number): number[] {
  return timesMs.filter((t) => t > nowMs - windowMs).sort((a, b) => a - b);
}
