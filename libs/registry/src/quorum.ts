/**
 * Quorum rules: whether a service (a cluster of instances) still works given
 * the states of its members, how many more members it can lose, and whether it
 * would survive losing a whole node, zone or region.
 *
 * Instances are counted, never weighed: an instance is healthy when it is UP.
 * SUSPECT (heartbeat overdue, not yet confirmed down) is not healthy, but it is
 * not counted as lost either, so a service is never declared DOWN on suspicion
 * alone. UNKNOWN (registered, never seen) is neither.
 *
 * Everything here is pure and total: counts that are negative, fractional or
 * not finite are read as the nearest sensible whole number (see
 * {@link toCount}), because these functions turn stored rows into a status
 * shown on a dashboard, and a bad row must not throw there.
 */

/**
 * What a service needs to work.
 * - `any`: at least `minHealthy` healthy instances (stateless replicas behind a
 *   load balancer: any one of them can serve).
 * - `majority`: a strict majority of the members, floor(n/2)+1, as consensus
 *   protocols (Raft, Paxos: etcd, Consul servers, ZooKeeper, CockroachDB) need
 *   to elect a leader and commit.
 * - `bft`: a Byzantine quorum, 2f+1 of n = 3f+1 (PBFT, Tendermint/CometBFT,
 *   HotStuff); see {@link requiredHealthy} for other n.
 */
export type QuorumRule = 'any' | 'majority' | 'bft';

/** One instance, as failure detection sees it. UNKNOWN: registered, never seen. */
export type InstanceState = 'UP' | 'SUSPECT' | 'DOWN' | 'UNKNOWN';

/** A whole service, as {@link evaluateQuorum} sees it. */
export type ServiceState = 'UP' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';

/** A failure domain level: what a service may be asked to survive losing one of. */
export type SurvivalGoal = 'node' | 'zone' | 'region';

/** The failure domain levels, smallest first. */
export const SURVIVAL_GOALS: readonly SurvivalGoal[] = Object.freeze(['node', 'zone', 'region'] as const);

/** A non-negative whole number of members: fractions are floored; negatives, NaN and ±Infinity count as 0. */
function toCount(x: number): number {
  return Number.isFinite(x) && x > 0 ? Math.floor(x) : 0;
}

/** minHealthy as used: a whole number >= 1; anything missing, below 1 or not finite is the default 1. */
function toMinHealthy(x: number | null | undefined): number {
  return x !== undefined && x !== null && Number.isFinite(x) && x >= 1 ? Math.floor(x) : 1;
}

/**
 * How many healthy (UP) members a service of `members` instances needs under
 * its rule.
 *
 * - `any`: `minHealthy` (default 1), whatever the size.
 * - `majority`: floor(n/2)+1. Any two majorities overlap, which is what keeps
 *   two halves of a partitioned Raft/Paxos cluster from both making progress.
 * - `bft`: with f = floor((n-1)/3) Byzantine members tolerated, the smallest q
 *   such that any two quorums overlap in at least f+1 members (so in at least
 *   one honest one): 2q - n >= f+1, q = ceil((n+f+1)/2). For n = 3f+1 that is
 *   the textbook 2f+1 (4 → 3, 7 → 5); for other n it is what the formula gives
 *   (5 → 4, 6 → 4, 8 → 6, 9 → 6). Spare members beyond 3f+1 that do not raise f
 *   make the quorum larger, not smaller, which is correct: they add members a
 *   quorum must overlap with, not faults it can tolerate.
 *
 * For `majority` and `bft`, `minHealthy` is a floor on top of the rule:
 * needed = max(rule quorum, minHealthy). The rule says what the protocol needs
 * to stay correct; minHealthy says what the operator needs for capacity, and a
 * cluster that keeps its quorum but cannot carry the load is not working
 * either. So `majority` with 5 members and minHealthy 4 needs 4.
 *
 * Decision for `members` = 0: the answer is still max(1, minHealthy), never 0.
 * A requirement of 0 would make `up >= needed` vacuously true and an empty
 * service look healthy to any caller comparing the two; the formulas give 1
 * at n = 0 anyway (floor(0/2)+1, and f is taken as at least 0). The result is
 * always >= 1 and may exceed `members` (minHealthy 3 for 2 instances): such a
 * service cannot meet its rule and {@link evaluateQuorum} reports it DOWN.
 *
 * `members` is read with {@link toCount} (floored, negatives as 0); minHealthy
 * below 1 or not finite is the default 1.
 */
export function requiredHealthy(rule: QuorumRule, members: number, minHealthy?: number): number {
  const n = toCount(members);
  const floor = toMinHealthy(minHealthy);
  switch (rule) {
    case 'majority':
      return Math.max(Math.floor(n / 2) + 1, floor);
    case 'bft': {
      const f = Math.max(0, Math.floor((n - 1) / 3));
      return Math.max(Math.ceil((n + f + 1) / 2), floor);
    }
    case 'any':
    default:
      // `default`: a rule from an older or newer row than this code knows is
      // treated as the least demanding one rather than throwing in a status view.
      return floor;
  }
}

/** How many members of a service are in each state. */
export interface MemberCounts {
  up: number;
  suspect: number;
  down: number;
  unknown: number;
}

/** Tallies members by state. */
export function countMembers(states: Iterable<InstanceState>): MemberCounts {
  const counts: MemberCounts = { up: 0, suspect: 0, down: 0, unknown: 0 };
  for (const s of states) {
    if (s === 'UP') counts.up++;
    else if (s === 'SUSPECT') counts.suspect++;
    else if (s === 'DOWN') counts.down++;
    else counts.unknown++;
  }
  return counts;
}

export interface QuorumVerdict {
  state: ServiceState;
  /** How many more healthy members may fail before the service stops working under its rule (0 when already DOWN). */
  canLose: number;
  /** Healthy members the rule needs. */
  needed: number;
  members: number;
  /**
   * Human-readable reason when not UP, e.g. "quorum lost: 2 of 5 up, 3 needed",
   * "2 of 5 down; can lose 0 more", "quorum at risk: 1 suspect, 2 of 5 up, 3 needed".
   * null when UP.
   */
  reason: string | null;
}

/**
 * The state of a service from how many of its members are in each state.
 * members = up + suspect + down + unknown; needed = {@link requiredHealthy}.
 *
 * - No members, or all of them UNKNOWN: UNKNOWN. Nothing has been observed, so
 *   nothing can be claimed; this is not DOWN, which would page someone for a
 *   service that has merely not started reporting yet.
 * - up >= needed: the rule is met. UP when every member is up, else DEGRADED
 *   (it works, with less margin than it was built for). canLose = up - needed.
 * - up < needed <= up + suspect: DEGRADED, "quorum at risk", canLose 0. The
 *   rule is met only if suspects are still alive; a suspect is a heartbeat that
 *   is late, not a confirmed failure, and declaring DOWN on suspicion alone
 *   would turn every slow network moment into an outage.
 * - otherwise DOWN, canLose 0: "quorum lost" for majority/bft; "no healthy
 *   instance" or "fewer than N healthy" for any.
 *
 * As soon as one member has been observed, UNKNOWN members count as not
 * healthy: a 3-member Raft cluster of which one member has reported is DOWN
 * until a second one does, because nothing shows that it has a quorum.
 *
 * canLose counts UP members that may still turn DOWN with the service still
 * meeting its rule, assuming the suspects do not recover (and not counting
 * them as losses either: they are already not counted as healthy).
 */
export function evaluateQuorum(rule: QuorumRule, counts: MemberCounts, minHealthy?: number): QuorumVerdict {
  const up = toCount(counts.up);
  const suspect = toCount(counts.suspect);
  const down = toCount(counts.down);
  const unknown = toCount(counts.unknown);
  const members = up + suspect + down + unknown;
  const needed = requiredHealthy(rule, members, minHealthy);

  if (members === 0) return { state: 'UNKNOWN', canLose: 0, needed, members, reason: 'no instances registered' };
  if (unknown === members) {
    return { state: 'UNKNOWN', canLose: 0, needed, members, reason: `none of ${members} ${members === 1 ? 'instance has' : 'instances have'} reported yet` };
  }

  if (up >= needed) {
    const canLose = up - needed;
    if (up === members) return { state: 'UP', canLose, needed, members, reason: null };
    const parts = notUp(members, { down, suspect, unknown });
    return { state: 'DEGRADED', canLose, needed, members, reason: `${parts}; can lose ${canLose} more` };
  }

  const tally = `${up} of ${members} up, ${needed} needed`;
  if (up + suspect >= needed) {
    const prefix = rule === 'any' ? 'at risk' : 'quorum at risk';
    return { state: 'DEGRADED', canLose: 0, needed, members, reason: `${prefix}: ${suspect} suspect, ${tally}` };
  }

  let reason: string;
  if (rule === 'majority' || rule === 'bft') reason = `quorum lost: ${tally}`;
  else if (up === 0) reason = `no healthy instance: 0 of ${members} up`;
  else reason = `fewer than ${needed} healthy: ${tally}`;
  return { state: 'DOWN', canLose: 0, needed, members, reason };
}

/** "2 of 5 down", "1 of 5 down, 1 suspect", "1 of 3 unknown": the members that are not UP, the first one "of n". */
function notUp(members: number, c: { down: number; suspect: number; unknown: number }): string {
  const parts = (
    [
      [c.down, 'down'],
      [c.suspect, 'suspect'],
      [c.unknown, 'unknown'],
    ] as const
  ).filter(([count]) => count > 0);
  return parts.map(([count, label], i) => (i === 0 ? `${count} of ${members} ${label}` : `${count} ${label}`)).join(', ');
}

/** An instance with where it runs. A missing or empty location is an unknown one (see {@link survives}). */
export interface PlacedMember {
  state: InstanceState;
  node?: string | null;
  zone?: string | null;
  region?: string | null;
}

/** Whether a service keeps meeting its rule after losing any one node, any one zone, any one region. */
export interface Survives {
  node: boolean;
  zone: boolean;
  region: boolean;
}

const NONE: Readonly<Survives> = Object.freeze({ node: false, zone: false, region: false });

/**
 * Can the service lose any ONE node (zone, region) and still meet its rule?
 *
 * For each level separately, members are grouped by their value at that level
 * and each group is removed in turn; the service survives the level when the
 * UP members left are still at least `needed` for every group that holds an UP
 * member (removing a group without one changes nothing). `needed` is computed
 * on the FULL membership: a Raft cluster does not shrink its quorum when a
 * zone dies, its dead members still count in the denominator. So it is enough
 * to check the group holding the most UP members: up - max(group up) >= needed.
 *
 * Only UP members count as healthy: a SUSPECT one may already be gone.
 *
 * Missing locations are conservative: all members lacking a value at a level
 * (null, undefined or '') are taken to share ONE unknown domain at that level,
 * since nothing shows they are apart. Merging domains can only make the worst
 * group larger, so this never claims survival that the real placement might
 * not have; declaring the location turns it into an honest answer.
 *
 * A service that does not meet its rule now (or has no members) survives
 * nothing: all false.
 */
export function survives(rule: QuorumRule, members: readonly PlacedMember[], minHealthy?: number): Survives {
  const needed = requiredHealthy(rule, members.length, minHealthy);
  const healthy = members.filter((m) => m.state === 'UP');
  if (members.length === 0 || healthy.length < needed) return { ...NONE };
  const result: Survives = { ...NONE };
  for (const level of SURVIVAL_GOALS) {
    result[level] = healthy.length - largestDomain(healthy, level) >= needed;
  }
  return result;
}

/** How many of `healthy` share the most common value at `level`, missing values all being one domain. */
function largestDomain(healthy: readonly PlacedMember[], level: SurvivalGoal): number {
  const sizes = new Map<string | null, number>();
  let largest = 0;
  for (const m of healthy) {
    const key = m[level] || null;
    const size = (sizes.get(key) ?? 0) + 1;
    sizes.set(key, size);
    if (size > largest) largest = size;
  }
  return largest;
}

/**
 * Whether a service meets its declared survival goal: goal 'zone' is met when
 * it survives losing any one zone, and so on. Each goal is read from its own
 * flag, not inferred from a larger one: with locations missing, a service can
 * survive a zone but not a node (three members in three zones, none declaring
 * a node, share one unknown node), and the dashboard must not claim more.
 */
export function survivalGoalMet(goal: SurvivalGoal, s: Survives): boolean {
  return s[goal];
}
