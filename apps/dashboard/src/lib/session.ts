import { signal, useSignal } from './signal';

export type Role = 'agent' | 'viewer' | 'operator' | 'admin';

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

/**
 * The roles of each operation (`DELETE /api/v1/services/{name}` → roles), as
 * the OpenAPI document's `x-ninefold-roles` states them: the statement the api
 * enforces, so a button is shown exactly when its call would be allowed. Null
 * until loaded, and then no write button shows.
 */
export const operationRoles = signal<ReadonlyMap<string, readonly Role[]> | null>(null);

let loading: Promise<void> | null = null;

/** Reads the operations' roles once per tab (again after a failure). */
export function loadOperationRoles(): Promise<void> {
  loading ??= (async () => {
    try {
      const res = await fetch('/api/docs-json');
      const doc = (await res.json()) as { paths: Record<string, Record<string, { 'x-ninefold-roles'?: Role[] }>> };
      const roles = new Map<string, readonly Role[]>();
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) if (Array.isArray(op['x-ninefold-roles'])) roles.set(`${method.toUpperCase()} ${path}`, op['x-ninefold-roles']);
      }
      operationRoles.set(roles);
    } catch {
      loading = null;
    }
  })();
  return loading;
}

/** Whether the signed-in key may call `operation` (`METHOD /api/v1/path/{param}`); false until the roles are known. */
export function useCan(operation: string): boolean {
  const s = useSignal(session);
  const roles = useSignal(operationRoles);
  return s !== null && (roles?.get(operation)?.includes(s.role) ?? false);
}
