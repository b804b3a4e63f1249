import { session } from './session';

/** An answer of the API that was not 2xx, with its message as the API wrote it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function messageOf(status: number, body: unknown): string {
  const m = (body as { message?: unknown } | null)?.message;
  if (Array.isArray(m)) return m.join('; ');
  if (typeof m === 'string') return m;
  return status === 0 ? 'Ninefold cannot be reached' : `HTTP ${status}`;
}

/**
 * A call to /api/v1 with the session's key. A 401 signs the session out (the
 * key was revoked or is wrong): the sign-in page says why.
 */
export async function api<T>(path: string, init: { method?: string; body?: unknown; key?: string; signal?: AbortSignal } = {}): Promise<T> {
  const key = init.key ?? session.value?.key;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: init.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'Ninefold cannot be reached');
  }
  if (res.status === 204) return undefined as T;
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new ApiError(res.status, messageOf(res.status, body));
    if (res.status === 401 && !init.key) session.signOut('Your API key is no longer accepted. Sign in again.');
    throw error;
  }
  return body as T;
}
