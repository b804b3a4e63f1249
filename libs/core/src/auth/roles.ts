/** Roles, each including the ones before it. */
export const ROLES = ['agent', 'viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Does `have` include everything `need` may do? */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who made a request: the API key's identity, never its secret. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}
