import { signal } from './signal';

export type Role = 'agent' | 'viewer' | 'operator' | 'admin';
const RANK: Record<Role, number> = { agent: 0, viewer: 1, operator: 2, admin: 3 };

export interface Session {
  key: string;
  name: string;
  role: Role;
}

const STORAGE = 'ninefold.session';

function restore(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/**
 * The signed-in key. Kept in sessionStorage: it lives as long as the tab,
 * survives a reload, and is gone when the tab closes. Never in localStorage
 * or a cookie.
 */
export const session = Object.assign(signal<Session | null>(restore()), {
  /** Why the last session ended, shown on the sign-in page. */
  reason: signal<string | null>(null),
  signIn(s: Session): void {
    sessionStorage.setItem(STORAGE, JSON.stringify(s));
    session.reason.set(null);
    session.set(s);
  },
  signOut(reason: string | null = null): void {
    sessionStorage.removeItem(STORAGE);
    session.reason.set(reason);
    session.set(null);
  },
});

/** Whether the signed-in role includes `need` (roles include the ones below them). */
export function can(need: Role, s: Session | null = session.value): boolean {
  return s !== null && RANK[s.role] >= RANK[need];
}
