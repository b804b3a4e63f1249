/** The roles a key can have (stored by name in `api_keys.role`). */
export const ROLES = ['agent', 'viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Who may call an operation (contract roles v1.1). Roles do not nest: an agent
 * key does what agents and probers do and reads nothing else, a viewer reads
 * and changes nothing, an operator is a viewer that acts, an admin does
 * everything. Every operation names one of these levels (`@Access`), and that
 * one statement is what the guard, the heartbeat ingress, the WebSocket, the
 * OpenAPI document (`x-ninefold-roles`) and the dashboard's buttons follow.
 */
export const ACCESS = {
  /** What agents and probers do: heartbeats, registration, probe tasks, recovery points. */
  agent: ['agent', 'admin'],
  /** Answers both agents and people read: discovery, the caller's own identity. */
  any: ['agent', 'viewer', 'operator', 'admin'],
  /** Reading what the dashboard shows. */
  read: ['viewer', 'operator', 'admin'],
  /** Acting on what runs: maintenance windows, silences, incidents, runs. */
  operate: ['operator', 'admin'],
  /** Deregistering an instance: an agent leaving, or an operator removing it. */
  deregister: ['agent', 'operator', 'admin'],
  /** Configuration: keys, services, checks, SLOs, policies. */
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Access = keyof typeof ACCESS;

/** May a key of `role` call an operation of `access`? */
export function allows(access: Access, role: Role): boolean {
  return (ACCESS[access] as readonly Role[]).includes(role);
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
