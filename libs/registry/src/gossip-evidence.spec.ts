import { weighGossip } from './gossip-evidence.js';

describe('weighGossip', () => {
  it('counts recent reports of other agents: positive times alive, negative suspect or dead', () => {
    const now = 100_000;
    expect(weighGossip({ a: '99000', b: '-98000', c: '95000', web: '99999' }, 'web', now)).toEqual({ alive: 2, reporters: 3 });
  });

  it('ignores reports older than the window, garbage, and the instance about itself', () => {
    const now = 100_000;
    expect(weighGossip({ a: '60000', b: 'x', web: '99999' }, 'web', now)).toEqual({ alive: 0, reporters: 0 });
    expect(weighGossip({ a: '-71000' }, 'web', now)).toEqual({ alive: 0, reporters: 1 });
  });
});
