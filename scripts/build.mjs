#!/usr/bin/env node
// npm run build: Prisma client, TypeScript → dist/, the entry points
// dist/apps/api/main.js, dist/apps/worker/main.js and dist/apps/agent/main.js,
// and the web UI (type-checked, then bundled by Vite) → dist/dashboard/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The native schema engine is not needed (and often not downloadable) for generate.
run(bin('prisma'), ['generate'], { PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1' });
run(bin('tsc'), ['-p', 'tsconfig.build.json']);
for (const app of ['api', 'worker', 'agent']) {
  const shim = path.join(root, 'dist', 'apps', app, 'main.js');
  fs.writeFileSync(shim, `// Entry point of the Ninefold ${app}: node dist/apps/${app}/main.js\nimport './src/main.js';\n`);
}

run(bin('tsc'), ['-p', path.join('apps', 'dashboard', 'tsconfig.json')]);
run(bin('vite'), ['build', '--config', path.join('apps', 'dashboard', 'vite.config.mjs')]);
// Compressed copies next to each script, style and icon: the api sends them
// to browsers that accept them (@fastify/static preCompressed).
{
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of walk(path.join(root, 'dist', 'dashboard'))) {
    if (!/\.(js|css|svg)$/.test(file)) continue;
    const body = fs.readFileSync(file);
    fs.writeFileSync(`${file}.br`, zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }));
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(body, { level: 9 }));
  }
}
