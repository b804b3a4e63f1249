import fc from 'fast-check';
import {
  evaluateQuorum,
  type InstanceState,
  type MemberCounts,
  type PlacedMember,
  type QuorumRule,
  requiredHealthy,
  type ServiceState,
  survivalGoalMet,
  survives,
  type Survives,
} from './quorum.js';

const RULES: readonly QuorumRule[] = ['any', 'majority', 'bft'];
const LEVELS = ['node', 'zone', 'region'] as const;

/**
 * Quorum sizes for n = 1..9 (index n - 1), worked out by hand, not with the
 * code under test.
 * - majority, floor(n/2)+1: 0+1, 1+1, 1+1, 2+1, 2+1, 3+1, 3+1, 4+1, 4+1.
 * - bft, f = floor((n-1)/3), ceil((n+f+1)/2):
 *   n=1 f=0 ceil(2/2)=1;  n=2 f=0 ceil(3/2)=2;  n=3 f=0 ceil(4/2)=2;
 *   n=4 f=1 ceil(6/2)=3;  n=5 f=1 ceil(7/2)=4;  n=6 f=1 ceil(8/2)=4;
 *   n=7 f=2 ceil(10/2)=5; n=8 f=2 ceil(11/2)=6; n=9 f=2 ceil(12/2)=6.
 *   (n=8 is 6, not 5: with 5 of 8, two quorums may overlap in only
 *   2*5-8 = 2 = f members, all of which may be faulty.)
 */
const QUORUM: Record<QuorumRule, readonly number[]> = {
  any: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  majority: [1, 2, 2, 3, 3, 4, 4, 5, 5],
  bft: [1, 2, 2, 3, 4, 4, 5, 6, 6],
};

/** The verdict by brute force, from the hand-written table: fail one UP member at a time while the rule still holds. */
function expectedVerdict(rule: QuorumRule, c: MemberCounts): { state: ServiceState; canLose: number } {
  const n = c.up + c.suspect + c.down + c.unknown;
  if (n === 0 || c.unknown === n) return { state: 'UNKNOWN', canLose: 0 };
  const needed = QUORUM[rule][n - 1];
  const works = (up: number): boolean => up >= needed;
  if (works(c.up)) {
    let canLose = 0;
    for (let up = c.up; up > 0 && works(up - 1); up--) canLose++;
    return { state: c.up === n ? 'UP' : 'DEGRADED', canLose };
  }
  return { state: works(c.up + c.suspect) ? 'DEGRADED' : 'DOWN', canLose: 0 };
}

const RANK: Record<ServiceState, number> = { UNKNOWN: -1, DOWN: 0, DEGRADED: 1, UP: 2 };

const ruleArb = fc.constantFrom<QuorumRule>('any', 'majority', 'bft');
const countsArb = fc.record({ up: fc.nat(12), suspect: fc.nat(12), down: fc.nat(12), unknown: fc.nat(12) });
const minHealthyArb = fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined });

const total = (c: MemberCounts): number => c.up + c.suspect + c.down + c.unknown;

function member(state: InstanceState, node?: string | null, zone?: string | null, region?: string | null): PlacedMember {
  return { state, node, zone, region };
}

describe('requiredHealthy', () => {
  it.each(RULES)('gives the hand-computed quorum for n = 1..9 under %s', (rule) => {
    const got = Array.from({ length: 9 }, (_, i) => requiredHealthy(rule, i + 1));
    expect(got).toEqual(QUORUM[rule]);
  });

  it('uses the textbook 2f+1 for n = 3f+1 under bft', () => {
    for (let f = 0; f <= 10; f++) expect(requiredHealthy('bft', 3 * f + 1)).toBe(2 * f + 1);
  });

  it('is minHealthy for any, whatever the size, even above it', () => {
    expect(requiredHealthy('any', 5, 3)).toBe(3);
    expect(requiredHealthy('any', 1, 3)).toBe(3);
    expect(requiredHealthy('any', 100)).toBe(1);
  });

  it('takes minHealthy as a floor on top of majority and bft', () => {
    expect(requiredHealthy('majority', 5, 2)).toBe(3); // the rule is larger
    expect(requiredHealthy('majority', 5, 3)).toBe(3);
    expect(requiredHealthy('majority', 5, 4)).toBe(4); // the floor is larger
    expect(requiredHealthy('majority', 3, 7)).toBe(7); // may exceed the members
    expect(requiredHealthy('bft', 4, 2)).toBe(3);
    expect(requiredHealthy('bft', 4, 4)).toBe(4);
    expect(requiredHealthy('bft', 7, 6)).toBe(6);
  });

  it('reads a missing or nonsensical minHealthy as 1, and a fractional one floored', () => {
    for (const mh of [undefined, 0, -3, Number.NaN, Number.POSITIVE_INFINITY, 0.5]) {
      expect(requiredHealthy('any', 4, mh)).toBe(1);
      expect(requiredHealthy('majority', 4, mh)).toBe(3);
    }
    expect(requiredHealthy('any', 4, 2.9)).toBe(2);
  });

  it('never asks for 0, even of an empty service, so an empty service never looks healthy', () => {
    for (const rule of RULES) {
      expect(requiredHealthy(rule, 0)).toBe(1);
      expect(requiredHealthy(rule, 0, 3)).toBe(3);
      expect(requiredHealthy(rule, -2)).toBe(1);
      expect(requiredHealthy(rule, Number.NaN)).toBe(1);
    }
    expect(requiredHealthy('majority', 5.7)).toBe(3); // floored to 5
  });

  it('is at least 1, at least minHealthy, and for n >= 1 at most n unless minHealthy is larger (property)', () => {
    fc.assert(
      fc.property(ruleArb, fc.nat(1000), minHealthyArb, (rule, n, mh) => {
        const q = requiredHealthy(rule, n, mh);
        expect(Number.isInteger(q)).toBe(true);
        expect(q).toBeGreaterThanOrEqual(Math.max(1, mh ?? 1));
        if (n >= 1) expect(q).toBeLessThanOrEqual(Math.max(n, mh ?? 1));
        if (rule !== 'any' && mh === undefined) {
          // A quorum is a majority or more: two quorums always overlap.
          expect(2 * q).toBeGreaterThan(n);
        }
      }),
    );
  });

  it('gives bft quorums that overlap in at least f+1 members and leave room for f faults (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (n) => {
        const f = Math.floor((n - 1) / 3);
        const q = requiredHealthy('bft', n);
        expect(2 * q - n).toBeGreaterThanOrEqual(f + 1); // safety: an honest member in any two quorums
        expect(2 * (q - 1) - n).toBeLessThan(f + 1); // and it is the smallest such q
        expect(q).toBeLessThanOrEqual(n - f); // liveness: f silent members cannot block it
      }),
    );
  });
});

describe('evaluateQuorum', () => {
  it.each(RULES)('matches the brute force for n = 1..9 and 0..n members down under %s', (rule) => {
    for (let n = 1; n <= 9; n++) {
      for (let down = 0; down <= n; down++) {
        const counts = { up: n - down, suspect: 0, down, unknown: 0 };
        const v = evaluateQuorum(rule, counts);
        expect({ n, down, state: v.state, canLose: v.canLose }).toEqual({ n, down, ...expectedVerdict(rule, counts) });
        expect(v.needed).toBe(QUORUM[rule][n - 1]);
        expect(v.members).toBe(n);
      }
    }
  });

  it.each(RULES)('matches the brute force for every mix of states with n = 0..9 under %s', (rule) => {
    for (let n = 0; n <= 9; n++) {
      for (let up = 0; up <= n; up++) {
        for (let suspect = 0; suspect <= n - up; suspect++) {
          for (let down = 0; down <= n - up - suspect; down++) {
            const counts = { up, suspect, down, unknown: n - up - suspect - down };
            const v = evaluateQuorum(rule, counts);
            expect({ counts, state: v.state, canLose: v.canLose }).toEqual({ counts, ...expectedVerdict(rule, counts) });
          }
        }
      }
    }
  });

  it('keeps a 5-member Raft cluster working with 2 down, with no margin left, and loses it at 3 down', () => {
    expect(evaluateQuorum('majority', { up: 5, suspect: 0, down: 0, unknown: 0 })).toEqual({
      state: 'UP',
      canLose: 2,
      needed: 3,
      members: 5,
      reason: null,
    });
    expect(evaluateQuorum('majority', { up: 4, suspect: 0, down: 1, unknown: 0 })).toMatchObject({ state: 'DEGRADED', canLose: 1 });
    expect(evaluateQuorum('majority', { up: 3, suspect: 0, down: 2, unknown: 0 })).toEqual({
      state: 'DEGRADED',
      canLose: 0,
      needed: 3,
      members: 5,
      reason: '2 of 5 down; can lose 0 more',
    });
    expect(evaluateQuorum('majority', { up: 2, suspect: 0, down: 3, unknown: 0 })).toEqual({
      state: 'DOWN',
      canLose: 0,
      needed: 3,
      members: 5,
      reason: 'quorum lost: 2 of 5 up, 3 needed',
    });
  });

  it('keeps a 4-member bft cluster working with 1 down (f = 1) and loses it at 2 down', () => {
    expect(evaluateQuorum('bft', { up: 4, suspect: 0, down: 0, unknown: 0 })).toMatchObject({ state: 'UP', canLose: 1, needed: 3 });
    expect(evaluateQuorum('bft', { up: 3, suspect: 0, down: 1, unknown: 0 })).toMatchObject({
      state: 'DEGRADED',
      canLose: 0,
      reason: '1 of 4 down; can lose 0 more',
    });
    const lost = evaluateQuorum('bft', { up: 2, suspect: 0, down: 2, unknown: 0 });
    expect(lost).toMatchObject({ state: 'DOWN', canLose: 0, needed: 3 });
    expect(lost.reason).toMatch(/^quorum lost/);
  });

  it('does not declare DOWN on suspicion alone', () => {
    const atRisk = evaluateQuorum('majority', { up: 2, suspect: 1, down: 2, unknown: 0 });
    expect(atRisk).toEqual({ state: 'DEGRADED', canLose: 0, needed: 3, members: 5, reason: 'quorum at risk: 1 suspect, 2 of 5 up, 3 needed' });
    expect(evaluateQuorum('bft', { up: 0, suspect: 4, down: 0, unknown: 0 })).toMatchObject({ state: 'DEGRADED', canLose: 0 });
    const any = evaluateQuorum('any', { up: 0, suspect: 2, down: 1, unknown: 0 });
    expect(any).toMatchObject({ state: 'DEGRADED', canLose: 0 });
    expect(any.reason).toMatch(/^at risk: 2 suspect/);
    // One suspect too few is DOWN.
    expect(evaluateQuorum('majority', { up: 1, suspect: 1, down: 3, unknown: 0 }).state).toBe('DOWN');
  });

  it('says why an any-service is down', () => {
    expect(evaluateQuorum('any', { up: 0, suspect: 0, down: 3, unknown: 0 })).toEqual({
      state: 'DOWN',
      canLose: 0,
      needed: 1,
      members: 3,
      reason: 'no healthy instance: 0 of 3 up',
    });
    expect(evaluateQuorum('any', { up: 1, suspect: 0, down: 2, unknown: 0 }, 2)).toEqual({
      state: 'DOWN',
      canLose: 0,
      needed: 2,
      members: 3,
      reason: 'fewer than 2 healthy: 1 of 3 up, 2 needed',
    });
  });

  it('names every kind of member that is not up', () => {
    expect(evaluateQuorum('any', { up: 2, suspect: 1, down: 1, unknown: 1 }).reason).toBe('1 of 5 down, 1 suspect, 1 unknown; can lose 1 more');
    expect(evaluateQuorum('any', { up: 2, suspect: 0, down: 0, unknown: 1 })).toMatchObject({
      state: 'DEGRADED',
      reason: '1 of 3 unknown; can lose 1 more',
    });
  });

  it('is UNKNOWN with no members or none seen yet, and counts the unseen as unhealthy once one is seen', () => {
    expect(evaluateQuorum('any', { up: 0, suspect: 0, down: 0, unknown: 0 })).toEqual({
      state: 'UNKNOWN',
      canLose: 0,
      needed: 1,
      members: 0,
      reason: 'no instances registered',
    });
    expect(evaluateQuorum('majority', { up: 0, suspect: 0, down: 0, unknown: 3 })).toEqual({
      state: 'UNKNOWN',
      canLose: 0,
      needed: 2,
      members: 3,
      reason: 'none of 3 instances have reported yet',
    });
    expect(evaluateQuorum('any', { up: 0, suspect: 0, down: 0, unknown: 1 }).reason).toBe('none of 1 instance has reported yet');
    expect(evaluateQuorum('majority', { up: 1, suspect: 0, down: 0, unknown: 2 }).state).toBe('DOWN');
    expect(evaluateQuorum('majority', { up: 2, suspect: 0, down: 0, unknown: 1 }).state).toBe('DEGRADED');
  });

  it('applies minHealthy as a floor', () => {
    expect(evaluateQuorum('majority', { up: 3, suspect: 0, down: 2, unknown: 0 }, 4)).toMatchObject({ state: 'DOWN', needed: 4 });
    expect(evaluateQuorum('majority', { up: 5, suspect: 0, down: 0, unknown: 0 }, 4)).toMatchObject({ state: 'UP', canLose: 1, needed: 4 });
    expect(evaluateQuorum('any', { up: 2, suspect: 0, down: 0, unknown: 0 }, 3)).toMatchObject({ state: 'DOWN', needed: 3 });
  });

  it('reads nonsensical counts as whole non-negative numbers', () => {
    expect(evaluateQuorum('majority', { up: 3.9, suspect: -1, down: Number.NaN, unknown: Number.POSITIVE_INFINITY })).toEqual(
      evaluateQuorum('majority', { up: 3, suspect: 0, down: 0, unknown: 0 }),
    );
  });

  it('has canLose >= 0, a reason exactly when not UP, and DOWN exactly when up + suspect < needed (property)', () => {
    fc.assert(
      fc.property(ruleArb, countsArb, minHealthyArb, (rule, c, mh) => {
        const v = evaluateQuorum(rule, c, mh);
        expect(Number.isInteger(v.canLose) && v.canLose >= 0).toBe(true);
        expect(v.members).toBe(total(c));
        expect(v.needed).toBe(requiredHealthy(rule, total(c), mh));
        expect(v.reason === null).toBe(v.state === 'UP');
        if (v.state === 'DOWN' || v.state === 'UNKNOWN') expect(v.canLose).toBe(0);
        if (total(c) > c.unknown) expect(v.state === 'DOWN').toBe(c.up + c.suspect < v.needed);
        else expect(v.state).toBe('UNKNOWN');
        if (v.state === 'DOWN') expect(v.reason).toMatch(rule === 'any' ? /^(no healthy instance|fewer than \d+ healthy)/ : /^quorum lost/);
      }),
    );
  });

  it('survives losing canLose more UP members, and with no suspects not one more (property)', () => {
    fc.assert(
      fc.property(ruleArb, countsArb, minHealthyArb, (rule, c, mh) => {
        const v = evaluateQuorum(rule, c, mh);
        fc.pre(v.state !== 'DOWN');
        const lose = (k: number): ServiceState => evaluateQuorum(rule, { ...c, up: c.up - k, down: c.down + k }, mh).state;
        expect(lose(v.canLose)).not.toBe('DOWN');
        if (c.suspect === 0 && c.up >= v.canLose + 1) expect(lose(v.canLose + 1)).toBe('DOWN');
      }),
    );
  });

  it('never gets worse when a member recovers, nor better when one fails (property)', () => {
    fc.assert(
      fc.property(ruleArb, countsArb, minHealthyArb, (rule, c, mh) => {
        const before = evaluateQuorum(rule, c, mh);
        if (c.down > 0) {
          const recovered = evaluateQuorum(rule, { ...c, down: c.down - 1, up: c.up + 1 }, mh);
          expect(RANK[recovered.state]).toBeGreaterThanOrEqual(RANK[before.state]);
          expect(recovered.canLose).toBeGreaterThanOrEqual(before.canLose);
        }
        if (c.suspect > 0) {
          const confirmed = evaluateQuorum(rule, { ...c, suspect: c.suspect - 1, down: c.down + 1 }, mh);
          expect(RANK[confirmed.state]).toBeLessThanOrEqual(RANK[before.state]);
        }
        if (c.up > 0 && before.state !== 'UNKNOWN') {
          const suspected = evaluateQuorum(rule, { ...c, up: c.up - 1, suspect: c.suspect + 1 }, mh);
          expect(RANK[suspected.state]).toBeLessThanOrEqual(RANK[before.state]);
        }
      }),
    );
  });
});

/** survives by brute force: remove each domain in turn (missing values forming one domain) and count what is left. */
function bruteSurvives(rule: QuorumRule, members: readonly PlacedMember[], mh?: number): Survives {
  const needed = requiredHealthy(rule, members.length, mh);
  const upCount = (ms: readonly PlacedMember[]): number => ms.filter((m) => m.state === 'UP').length;
  const out: Survives = { node: false, zone: false, region: false };
  if (members.length === 0 || upCount(members) < needed) return out;
  for (const level of LEVELS) {
    const domainOf = (m: PlacedMember): string => (m[level] ? `=${m[level]}` : '?');
    const domains = new Set(members.map(domainOf));
    out[level] = [...domains].every((d) => {
      if (upCount(members.filter((m) => domainOf(m) === d)) === 0) return true;
      return upCount(members.filter((m) => domainOf(m) !== d)) >= needed;
    });
  }
  return out;
}

const stateArb = fc.constantFrom<InstanceState>('UP', 'UP', 'UP', 'SUSPECT', 'DOWN', 'UNKNOWN');
const locArb = (p: string) => fc.constantFrom<string | null | undefined>(null, undefined, '', `${p}1`, `${p}2`, `${p}3`);
const placedArb = fc.array(fc.record({ state: stateArb, node: locArb('n'), zone: locArb('z'), region: locArb('r') }), { maxLength: 12 });

/** Members on nodes n0..n5, each node in one zone z0..z3, each zone in one region r0..r1. */
const nestedArb = fc
  .record({
    zoneOfNode: fc.array(fc.nat(3), { minLength: 6, maxLength: 6 }),
    regionOfZone: fc.array(fc.nat(1), { minLength: 4, maxLength: 4 }),
    members: fc.array(fc.record({ state: stateArb, node: fc.nat(5) }), { maxLength: 12 }),
  })
  .map(({ zoneOfNode, regionOfZone, members }) =>
    members.map((m): PlacedMember => {
      const z = zoneOfNode[m.node];
      return { state: m.state, node: `n${m.node}`, zone: `z${z}`, region: `r${regionOfZone[z]}` };
    }),
  );

describe('survives', () => {
  it('survives a zone with 3 instances in 3 zones under any', () => {
    const ms = [member('UP', 'n1', 'a', 'eu'), member('UP', 'n2', 'b', 'eu'), member('UP', 'n3', 'c', 'eu')];
    expect(survives('any', ms, 1)).toEqual({ node: true, zone: true, region: false });
  });

  it('does not survive a zone with 2 instances in one zone, but a node when they are on different nodes', () => {
    expect(survives('any', [member('UP', 'n1', 'a'), member('UP', 'n2', 'a')])).toMatchObject({ node: true, zone: false });
    expect(survives('any', [member('UP', 'n1', 'a'), member('UP', 'n1', 'a')])).toMatchObject({ node: false, zone: false });
  });

  it('survives a zone with a 3-member majority across 3 zones, not across 2 (2 + 1)', () => {
    const three = [member('UP', 'n1', 'a'), member('UP', 'n2', 'b'), member('UP', 'n3', 'c')];
    expect(survives('majority', three)).toMatchObject({ node: true, zone: true });
    const two = [member('UP', 'n1', 'a'), member('UP', 'n2', 'a'), member('UP', 'n3', 'b')];
    expect(survives('majority', two)).toMatchObject({ node: true, zone: false });
  });

  it('keeps the quorum of the full membership when a zone dies (a 2 + 2 Raft cluster survives no zone)', () => {
    const ms = [member('UP', 'n1', 'a'), member('UP', 'n2', 'a'), member('UP', 'n3', 'b'), member('UP', 'n4', 'b')];
    // 2 are left of 4, and 4 members need 3; a quorum shrunk to the survivors would wrongly say 2 of 2.
    expect(survives('majority', ms)).toEqual({ node: true, zone: false, region: false });
  });

  it('judges regions the same way', () => {
    const spread = ['r1', 'r1', 'r2', 'r2', 'r3'].map((r, i) => member('UP', `n${i}`, `z${i}`, r));
    expect(survives('majority', spread)).toEqual({ node: true, zone: true, region: true }); // 5 - 2 = 3 >= 3
    const lopsided = ['r1', 'r1', 'r1', 'r2', 'r2'].map((r, i) => member('UP', `n${i}`, `z${i}`, r));
    expect(survives('majority', lopsided)).toEqual({ node: true, zone: true, region: false }); // 5 - 3 = 2 < 3
  });

  it('survives a zone with a 4-member bft cluster in 4 zones, not in 3 (2 + 1 + 1)', () => {
    expect(survives('bft', ['a', 'b', 'c', 'd'].map((z, i) => member('UP', `n${i}`, z))).zone).toBe(true);
    expect(survives('bft', ['a', 'a', 'b', 'c'].map((z, i) => member('UP', `n${i}`, z))).zone).toBe(false);
  });

  it('treats members with no location as sharing one unknown domain', () => {
    // They might be in different zones, but nothing says so.
    expect(survives('any', [member('UP', 'n1', null), member('UP', 'n2', undefined)])).toMatchObject({ node: true, zone: false });
    expect(survives('any', [member('UP', 'n1', ''), member('UP', 'n2')])).toMatchObject({ zone: false });
    expect(survives('majority', [member('UP', 'n1', 'a'), member('UP', 'n2', null), member('UP', 'n3', null)]).zone).toBe(false);
    expect(survives('majority', [member('UP', 'n1', 'a'), member('UP', 'n2', 'b'), member('UP', 'n3', null)]).zone).toBe(true);
    // No nodes at all: one unknown node holds everything.
    expect(survives('any', [member('UP', null, 'a'), member('UP', null, 'b'), member('UP', null, 'c')])).toEqual({ node: false, zone: true, region: false });
  });

  it('counts only UP members as healthy, against the quorum of all members', () => {
    // 3 of 5 up in 3 zones: exactly the quorum, so losing any zone with one of them loses it.
    const ms = [member('UP', 'n1', 'a'), member('UP', 'n2', 'b'), member('UP', 'n3', 'c'), member('DOWN', 'n4', 'd'), member('SUSPECT', 'n5', 'e')];
    expect(survives('majority', ms)).toEqual({ node: false, zone: false, region: false });
    // Losing a zone with no UP member in it changes nothing.
    const spare = [member('UP', 'n1', 'a'), member('UP', 'n2', 'b'), member('DOWN', 'n3', 'c')];
    expect(survives('any', spare).zone).toBe(true);
  });

  it('survives nothing when failing its rule now, or when empty', () => {
    const none = { node: false, zone: false, region: false };
    expect(survives('any', [])).toEqual(none);
    expect(survives('majority', [member('UP', 'n1', 'a'), member('DOWN', 'n2', 'b'), member('DOWN', 'n3', 'c')])).toEqual(none);
    expect(survives('any', [member('SUSPECT', 'n1', 'a'), member('UNKNOWN', 'n2', 'b')])).toEqual(none);
    expect(survives('any', [member('UP', 'n1', 'a'), member('UP', 'n2', 'b')], 3)).toEqual(none);
  });

  it('applies minHealthy', () => {
    const three = ['a', 'b', 'c'].map((z, i) => member('UP', `n${i}`, z));
    expect(survives('any', three, 2).zone).toBe(true);
    expect(survives('any', three, 3).zone).toBe(false);
    expect(survives('majority', [...three, member('UP', 'n9', 'd')], 4).zone).toBe(false);
  });

  it('agrees with removing each domain in turn (property)', () => {
    fc.assert(
      fc.property(ruleArb, placedArb, minHealthyArb, (rule, ms, mh) => {
        expect(survives(rule, ms, mh)).toEqual(bruteSurvives(rule, ms, mh));
      }),
    );
  });

  it('survives a region only if a zone, and a zone only if a node, when nodes nest in zones and zones in regions (property)', () => {
    // Each node lies in one zone, so a node's UP members are a subset of its
    // zone's: the worst node is no larger than the worst zone, and whatever is
    // left after losing a zone is no more than what is left after losing a node.
    fc.assert(
      fc.property(ruleArb, nestedArb, minHealthyArb, (rule, ms, mh) => {
        const s = survives(rule, ms, mh);
        if (s.region) expect(s.zone).toBe(true);
        if (s.zone) expect(s.node).toBe(true);
      }),
    );
  });

  it('surviving anything means up and able to lose at least one member (property)', () => {
    fc.assert(
      fc.property(ruleArb, placedArb, minHealthyArb, (rule, ms, mh) => {
        const s = survives(rule, ms, mh);
        fc.pre(s.node || s.zone || s.region);
        const counts: MemberCounts = { up: 0, suspect: 0, down: 0, unknown: 0 };
        for (const m of ms) counts[m.state.toLowerCase() as keyof MemberCounts]++;
        const v = evaluateQuorum(rule, counts, mh);
        expect(v.state).not.toBe('DOWN');
        expect(v.canLose).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('does not change its input', () => {
    const ms = Object.freeze([Object.freeze(member('UP', 'n1', 'a')), Object.freeze(member('UP', 'n2', 'b'))]);
    expect(() => survives('any', ms)).not.toThrow();
  });
});

describe('survivalGoalMet', () => {
  it('reads the flag of the goal', () => {
    const s: Survives = { node: true, zone: true, region: false };
    expect(survivalGoalMet('node', s)).toBe(true);
    expect(survivalGoalMet('zone', s)).toBe(true);
    expect(survivalGoalMet('region', s)).toBe(false);
    expect(survivalGoalMet('node', { node: false, zone: true, region: true })).toBe(false);
  });
});
