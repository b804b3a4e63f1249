#!/usr/bin/env node
// `npx ninefold-agent ...` from a clone of the repository: builds the project
// when dist/ is missing or older than the sources, then runs the agent.
// (Installed from the tarball of `npm run build:agent`, the agent is one
// bundled file and this script is not used.)
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ensureBuilt } = await import(pathToFileURL(path.join(root, 'scripts', 'lib', 'setup.mjs')).href);
ensureBuilt((m) => process.stderr.write(`ninefold-agent: ${m}\n`));
await import(pathToFileURL(path.join(root, 'dist', 'apps', 'agent', 'main.js')).href);
