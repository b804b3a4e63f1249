#!/usr/bin/env node
// npm run build: Prisma client, TypeScript → dist/, and the entry points
// dist/apps/api/main.js, dist/apps/worker/main.js and dist/apps/agent/main.js.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

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
