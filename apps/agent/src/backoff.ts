/**
 * Retry delays for talking to the control plane: exponential backoff with
 * "full jitter" (a random delay between 0 and the exponential cap, as in
 * AWS's analysis of backoff strategies), so thousands of agents that lost the
 * control plane together do not come back in lockstep.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/** Delay before retry number `attempt` (1 = the first retry); `random` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  // Never 0: a floor of a tenth of the base keeps a failing loop from spinning.
  return Math.max(policy.baseMs / 10, Math.floor(random() * cap));
}

/**
 * `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3); undefined when absent or unreadable. Capped at an hour
 * so a broken header cannot park the agent for days.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // Date.parse is lenient ("-5", "1.5" and "a 1" are dates in 2001): take only what looks like one of
    // RFC 9110's three HTTP-date forms, which all start with the weekday and carry hh:mm:ss.
    if (!/^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? .*\b\d\d:\d\d:\d\d\b/i.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), 3_600_000);
}
