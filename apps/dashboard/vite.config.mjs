// Builds the web UI to dist/dashboard/ (served by the api): `/` is index.html
// (the dashboard), `/status` is status.html (the public status page, its own
// small bundle without charts). Run by `npm run build` (scripts/build.mjs).
import path from 'node:path';
import { defineConfig } from 'vite';

const here = path.dirname(new URL(import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: '/',
  publicDir: path.join(here, 'public'),
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(here, '..', '..', 'dist', 'dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
    rolldownOptions: {
      input: { main: path.join(here, 'index.html'), status: path.join(here, 'status.html') },
    },
  },
});
