#!/usr/bin/env node
// npm run build:agent: the two packages users install on their servers,
//   dist/packages/ninefold-agent-<version>.tgz   the agent CLI, one bundled file, no dependencies
//                                                (npm install -g ./ninefold-agent-<version>.tgz)
//   dist/packages/ninefold-client-<version>.tgz  @ninefold/client for applications
//                                                (npm install ./ninefold-client-<version>.tgz)
// Prints the paths of both.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'packages');
const { version, license } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const log = (m) => process.stderr.write(`build:agent: ${m}\n`);

function run(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    throw new Error(`${cmd} ${args.join(' ')} failed with ${r.status}`);
  }
  return r.stdout.trim();
}

function fresh(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const REPOSITORY = 'https://github.com/ninefold/ninefold';

/**
 * The README section between two headings, for the package's own README. Its
 * links to the repository's files and headings point at the repository: the
 * package holds none of them.
 */
function readmeSection(start, end) {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const a = text.indexOf(start);
  if (a < 0) return '';
  const b = end ? text.indexOf(end, a + start.length) : -1;
  return text
    .slice(a, b < 0 ? undefined : b)
    .trim()
    .replace(/\]\((?!https?:|mailto:)([^)\s]+)\)/g, (_, target) => `](${target.startsWith('#') ? `${REPOSITORY}${target}` : `${REPOSITORY}/blob/main/${target}`})`);
}

fs.mkdirSync(out, { recursive: true });

// --- the agent --------------------------------------------------------------
const agentDir = fresh(path.join(root, 'dist', 'package-agent'));
await build({
  entryPoints: [path.join(root, 'apps', 'agent', 'src', 'main.ts')],
  outfile: path.join(agentDir, 'ninefold-agent.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifySyntax: true,
  sourcemap: false,
  legalComments: 'inline',
  // The bundle is ESM; CommonJS code inside it (yaml) may still call require for Node built-ins.
  // (The #! line comes from main.ts; esbuild keeps it first.)
  banner: { js: "import { createRequire as __nfCreateRequire } from 'node:module';\nconst require = __nfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
fs.chmodSync(path.join(agentDir, 'ninefold-agent.mjs'), 0o755);
for (const f of ['ninefold-agent.service', 'agent.example.yaml']) fs.copyFileSync(path.join(root, 'docker', 'agent', f), path.join(agentDir, f));
if (fs.existsSync(path.join(root, 'LICENSE'))) fs.copyFileSync(path.join(root, 'LICENSE'), path.join(agentDir, 'LICENSE'));
fs.writeFileSync(
  path.join(agentDir, 'README.md'),
  `# ninefold-agent ${version}\n\nThe agent of [Ninefold](${REPOSITORY}): heartbeats, application metrics, local checks and probes.\n\n${readmeSection('## Install the agent', '\n## ') || 'See the Ninefold README.'}\n`,
);
fs.writeFileSync(
  path.join(agentDir, 'package.json'),
  `${JSON.stringify(
    {
      name: 'ninefold-agent',
      version,
      description: 'The Ninefold agent: pushes heartbeats and metrics, runs local checks, probes for the control plane, records backups.',
      license,
      type: 'module',
      bin: { 'ninefold-agent': 'ninefold-agent.mjs' },
      files: ['ninefold-agent.mjs', 'ninefold-agent.service', 'agent.example.yaml', 'README.md', 'LICENSE'],
      engines: { node: '>=20' },
    },
    null,
    2,
  )}\n`,
);
const agentTgz = run('npm', ['pack', '--silent', '--pack-destination', out], agentDir).split('\n').pop();

// --- the client library ------------------------------------------------------
const clientDir = fresh(path.join(root, 'dist', 'package-client'));
run(path.join(root, 'node_modules', '.bin', 'tsc'), [
  '--ignoreConfig',
  '--declaration',
  '--module', 'nodenext',
  '--moduleResolution', 'nodenext',
  '--target', 'es2022',
  '--lib', 'es2022,dom',
  '--types', 'node',
  '--strict',
  '--skipLibCheck',
  '--rootDir', path.join(root, 'libs', 'client', 'src'),
  '--outDir', path.join(clientDir, 'dist'),
  path.join(root, 'libs', 'client', 'src', 'index.ts'),
]);
fs.writeFileSync(
  path.join(clientDir, 'README.md'),
  `# @ninefold/client ${version}\n\n${readmeSection('### The client library', '\n## ') || 'See the Ninefold README.'}\n`,
);
fs.writeFileSync(
  path.join(clientDir, 'package.json'),
  `${JSON.stringify(
    {
      name: '@ninefold/client',
      version,
      description: 'Report dependency calls to the local ninefold-agent and fail fast while Ninefold says a circuit breaker is open.',
      license,
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      types: './dist/index.d.ts',
      files: ['dist', 'README.md'],
      engines: { node: '>=18' },
    },
    null,
    2,
  )}\n`,
);
const clientTgz = run('npm', ['pack', '--silent', '--pack-destination', out], clientDir).split('\n').pop();

log(`agent bundle ${Math.round(fs.statSync(path.join(agentDir, 'ninefold-agent.mjs')).size / 1024)} KiB`);
process.stdout.write(`${path.join(out, agentTgz)}\n${path.join(out, clientTgz)}\n`);
