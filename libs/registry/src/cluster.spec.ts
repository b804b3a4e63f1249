import { clusterView, electionsInWindow } from './cluster.js';

const m = (name: string, role: 'leader' | 'follower' | 'primary' | 'replica' | null, term: number | null, state: 'UP' | 'SUSPECT' | 'DOWN' = 'UP') => ({ name, role, term, state });

describe('consensus cluster view', () => {
  it('finds the leader of a healthy Raft cluster', () => {
    expect(clusterView([m('a', 'leader', 7), m('b', 'follower', 7), m('c', 'follower', 7)])).toEqual({ hasRoles: true, leader: { name: 'a', term: 7 }, splitBrain: null });
  });

  it('has no leader when the leader is not UP, or nobody claims it', () => {
    expect(clusterView([m('a', 'leader', 7, 'DOWN'), m('b', 'follower', 7)]).leader).toBeNull();
    expect(clusterView([m('a', 'leader', 7, 'SUSPECT'), m('b', 'follower', 7)]).leader).toBeNull();
    expect(clusterView([m('a', 'follower', 7), m('b', 'follower', 7)])).toEqual({ hasRoles: true, leader: null, splitBrain: null });
  });

  it('reports two leaders in one term as a split brain', () => {
    const v = clusterView([m('a', 'leader', 7), m('b', 'leader', 7), m('c', 'follower', 7)]);
    expect(v.splitBrain).toEqual({ term: 7, members: ['a', 'b'] });
    expect(v.leader).toBeNull();
    expect(clusterView([m('a', 'primary', null), m('b', 'primary', null)]).splitBrain).toEqual({ term: null, members: ['a', 'b'] });
  });

  it('takes the higher term when a stale leader has not stepped down yet', () => {
    expect(clusterView([m('a', 'leader', 7), m('b', 'leader', 8)])).toMatchObject({ leader: { name: 'b', term: 8 }, splitBrain: null });
  });

  it('does not watch services whose members report no roles', () => {
    expect(clusterView([m('a', null, null), m('b', null, null)])).toEqual({ hasRoles: false, leader: null, splitBrain: null });
  });

  it('keeps only elections inside the window', () => {
    expect(electionsInWindow([1000, 5000, 9000, 2000], 10_000, 6_000)).toEqual([5000, 9000]);
  });
});
