// An owner file records which process started which servers in a directory,
// so that a later run can tell a live owner from the leftovers of one that was
// SIGKILLed (the only way out that no exit hook sees) and clean those up.
import fs from 'node:fs';
import path from 'node:path';

const OWNER_FILE = 'owner.json';

/**
 * Claims `dir` for this process. `add` records a server (its pid, a pattern
 * its command line matches, so a reused pid is never killed, and the signal
 * that stops it); `release` forgets the claim once everything has stopped.
 */
export function claim(dir) {
  const file = path.join(dir, OWNER_FILE);
  const owner = { pid: process.pid, startedAt: new Date().toISOString(), servers: [] };
  const write = () => fs.writeFileSync(file, JSON.stringify(owner) + '\n');
  write();
  return {
    add(pid, match, signal) {
      owner.servers.push({ pid, match: String(match), signal });
      write();
    },
    /** Records a fact other commands need (`postgresPort`: where the running Ninefold's PostgreSQL listens). */
    note(key, value) {
      owner[key] = value;
      write();
    },
    release() {
      fs.rmSync(file, { force: true });
    },
  };
}

/**
 * What `dir`'s owner file says: `none` (no claim), `alive` (the owner still
 * runs; `pid` says which), or `orphaned`, in which case the servers it left
 * are stopped (waiting up to `timeoutMs`, then SIGKILL) and the claim removed.
 * @returns {Promise<{ state: 'none' | 'alive' | 'orphaned', pid?: number }>}
 */
export async function reapIfOrphaned(dir, { timeoutMs = 15_000 } = {}) {
  let owner;
  try {
    owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
  } catch {
    return { state: 'none' };
  }
  if (owner.pid !== process.pid && commandLine(owner.pid)?.includes('node')) return { state: 'alive', pid: owner.pid, postgresPort: owner.postgresPort };
  const mine = (s) => commandLine(s.pid)?.includes(s.match);
  const left = (owner.servers ?? []).filter(mine);
  for (const s of left) signal(s.pid, s.signal);
  const deadline = Date.now() + timeoutMs;
  while (left.some(mine) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const s of left.filter(mine)) signal(s.pid, 'SIGKILL');
  fs.rmSync(path.join(dir, OWNER_FILE), { force: true });
  return { state: 'orphaned', pid: owner.pid };
}

/** The process's command line (NUL-separated arguments joined by spaces), or null when it does not exist. */
export function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    try {
      process.kill(pid, 0);
      return 'node'; // no /proc (not Linux): alive is all we can tell
    } catch {
      return null;
    }
  }
}

export function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
