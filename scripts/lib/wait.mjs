/**
 * Polls `probe` until it resolves truthy, or throws after `timeoutMs`.
 * A probe error with `fatal: true` stops at once.
 * @param {() => Promise<unknown>} probe
 * @param {{ timeoutMs: number, what: string, intervalMs?: number }} opts
 */
export async function waitFor(probe, { timeoutMs, what, intervalMs = 100 }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      if (err && err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
