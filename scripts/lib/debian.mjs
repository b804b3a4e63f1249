// Tools the project's scripts need that a fresh machine may lack (redis-server,
// chromium): found on PATH, or installed from Debian's packages when we are
// root and apt-get is there.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function which(cmd) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * The path of `binary`, installing Debian package `pkg` when it is missing and
 * allowed; null when it is missing and cannot be installed.
 */
export function ensureDebianPackage(binary, pkg, log = () => {}) {
  const found = which(binary);
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !which('apt-get')) return null;
  log(`${binary} is missing: installing Debian package ${pkg} (apt-get)`);
  // Keep packages from starting system-wide services (redis-server would take port 6379).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (update.status !== 0) log(`apt-get update failed (continuing): ${update.stderr.toString().trim().split('\n').pop()}`);
    const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (install.status !== 0) throw new Error(`apt-get install ${pkg} failed: ${install.stderr.toString().trim().split('\n').slice(-3).join(' ')}`);
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
  return which(binary);
}

/** Debian's Chromium for the browser tests (playwright-core drives it; `npx playwright install` cannot download here). */
export function ensureChromium(log = () => {}) {
  const explicit = process.env.NINEFOLD_CHROMIUM;
  if (explicit) return explicit;
  const found = ensureDebianPackage('chromium', 'chromium', log);
  if (found) return found;
  throw new Error('chromium was not found and could not be installed. Debian/Ubuntu: `sudo apt-get install chromium`; or set NINEFOLD_CHROMIUM to a Chromium or Chrome binary.');
}

/** Debian's Prometheus server and promtool, for the metrics tests. */
export function ensurePrometheus(log = () => {}) {
  const server = ensureDebianPackage('prometheus', 'prometheus', log);
  const promtool = which('promtool');
  if (server && promtool) return { server, promtool };
  throw new Error('prometheus and promtool were not found and could not be installed. Debian/Ubuntu: `sudo apt-get install prometheus`.');
}
