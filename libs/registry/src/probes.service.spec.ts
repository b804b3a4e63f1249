import fc from 'fast-check';
import { spreadOverZones } from './probes.service.js';

describe('spreadOverZones', () => {
  it('takes one prober per zone before a second from any zone', () => {
    const probers = [
      { id: 'a1', zone: 'a' },
      { id: 'a2', zone: 'a' },
      { id: 'a3', zone: 'a' },
      { id: 'b1', zone: 'b' },
      { id: 'c1', zone: 'c' },
    ];
    for (let i = 0; i < 20; i++) {
      const chosen = spreadOverZones(probers, 3);
      expect(new Set(chosen.map((p) => p.zone))).toEqual(new Set(['a', 'b', 'c']));
    }
    expect(spreadOverZones(probers.slice(0, 3), 3)).toHaveLength(3);
    expect(spreadOverZones([], 3)).toEqual([]);
  });

  it('never picks a prober twice, never more than asked, and covers as many zones as possible (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 12 }), fc.integer({ min: 0, max: 5 }), (zones, n) => {
        const probers = zones.map((zone, i) => ({ id: `p${i}`, zone }));
        const chosen = spreadOverZones(probers, n);
        expect(chosen.length).toBe(Math.min(n, probers.length));
        expect(new Set(chosen.map((p) => p.id)).size).toBe(chosen.length);
        expect(new Set(chosen.map((p) => p.zone)).size).toBe(Math.min(chosen.length, new Set(zones).size));
      }),
    );
  });
});
