// PostgreSQL refuses to run as root. When we are root, the embedded server runs
// as an unprivileged system user instead (created if missing), and the paths it
// needs are made reachable by that user.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** @returns {{ uid: number, gid: number, name: string } | null} null when we are not root (run as ourselves). */
export function serviceUser(name) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const lookup = () => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid, gid, name };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`running as root, and could not create the unprivileged user "${name}" PostgreSQL needs: ${err.message}`);
  }
  const created = lookup();
  if (!created) throw new Error(`useradd ${name} succeeded but the user cannot be found`);
  return created;
}

/** spawn/exec options that run the child as `user` (or as ourselves when null). */
export function runAsUserOptions(user) {
  return user ? { uid: user.uid, gid: user.gid, env: { ...process.env, HOME: os.tmpdir() } } : {};
}

/**
 * Gives `user` ownership of `owned` paths and makes every ancestor of them and
 * of `reachable` searchable (o+x only: names must be known, nothing is listable).
 */
export function prepareForUser(user, owned, reachable = []) {
  if (!user) return;
  for (const p of owned) chownRecursive(p, user.uid, user.gid);
  for (const p of [...owned, ...reachable]) {
    let dir = path.resolve(path.dirname(p));
    for (;;) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
}

function chownRecursive(p, uid, gid) {
  const st = fs.lstatSync(p);
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chownRecursive(path.join(p, e), uid, gid);
}
