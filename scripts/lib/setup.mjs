// What `npm start` and `npm test` do before anything else: install the
// dependencies when they are missing or stale, and build when sources changed.
// Node built-ins only: this runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Ninefold needs Node.js 20.19 or newer; this is ${process.versions.node}.`);
    process.exit(1);
  }
}

function run(cmd, args, what, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`${what} failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status || 1);
  }
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(dir, skip) {
  let max = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (skip(p)) continue;
    max = Math.max(max, e.isDirectory() ? newest(p, skip) : mtime(p));
  }
  return max;
}

/** `npm ci` when node_modules is missing or older than package-lock.json. */
export function ensureInstalled(log) {
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  if (mtime(installed) >= mtime(path.join(root, 'package-lock.json')) && mtime(installed) >= mtime(path.join(root, 'package.json'))) return;
  log('installing dependencies (npm ci)…');
  // --include=dev: the build needs TypeScript, Prisma's generator and Vite, which are dev dependencies; with
  // NODE_ENV=production npm would leave them out and the build would stop. The processes still run with
  // whatever NODE_ENV says.
  run('npm', ['ci', '--include=dev', '--no-audit', '--no-fund'], 'npm ci');
}

/** `npm run build` when any source is newer than the last build. */
export function ensureBuilt(log) {
  const stamp = path.join(root, 'dist', '.build-stamp');
  const skip = (p) => p.includes(`${path.sep}generated`) || p.includes(`${path.sep}node_modules`) || p.endsWith('.spec.ts');
  const sources = Math.max(
    newest(path.join(root, 'apps'), skip),
    newest(path.join(root, 'libs'), skip),
    mtime(path.join(root, 'prisma', 'schema.prisma')),
    mtime(path.join(root, 'package-lock.json')),
    mtime(path.join(root, 'tsconfig.json')),
    mtime(path.join(root, 'tsconfig.build.json')),
  );
  if (mtime(stamp) >= sources) return;
  log('building (npm run build)…');
  run(process.execPath, [path.join(root, 'scripts', 'build.mjs')], 'build');
  fs.writeFileSync(stamp, new Date().toISOString() + '\n');
}
