import { ROLES, roleAtLeast } from './roles.js';

describe('roleAtLeast', () => {
  it('orders agent < viewer < operator < admin, each including the ones before it', () => {
    expect(roleAtLeast('admin', 'agent')).toBe(true);
    expect(roleAtLeast('operator', 'viewer')).toBe(true);
    expect(roleAtLeast('viewer', 'operator')).toBe(false);
    expect(roleAtLeast('agent', 'viewer')).toBe(false);
    for (const r of ROLES) expect(roleAtLeast(r, r)).toBe(true);
  });
});
