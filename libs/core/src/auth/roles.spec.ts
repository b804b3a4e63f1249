import fc from 'fast-check';
import { ACCESS, type Access, allows, ROLES } from './roles.js';

const levels = Object.keys(ACCESS) as Access[];

describe('roles v1.1', () => {
  it('lets a viewer change nothing: every level a viewer has, an agent-only or acting level lacks', () => {
    for (const level of levels) {
      if (allows(level, 'viewer')) expect(['any', 'read']).toContain(level);
    }
  });

  it('lets an agent do only what agents and probers do, and read nothing else', () => {
    expect(levels.filter((l) => allows(l, 'agent')).sort()).toEqual(['agent', 'any', 'deregister']);
  });

  it('lets an operator read everything a viewer reads, and act', () => {
    for (const level of levels) if (allows(level, 'viewer')) expect(allows(level, 'operator')).toBe(true);
    expect(allows('operate', 'operator')).toBe(true);
    expect(allows('operate', 'viewer')).toBe(false);
    expect(allows('admin', 'operator')).toBe(false);
  });

  it('lets an admin do everything, the agent\'s calls included', () => {
    fc.assert(fc.property(fc.constantFrom(...levels), (level) => allows(level, 'admin')));
  });

  it('names only known roles, each level at least admin', () => {
    for (const level of levels) {
      for (const role of ACCESS[level]) expect(ROLES).toContain(role);
      expect(ACCESS[level]).toContain('admin');
    }
  });
});
