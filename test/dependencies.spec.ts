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

  it('has exactly one copy of socket.io (the Redis adapter must patch the server Nest creates)', () => {
    expect(installedCopies('socket.io')).toHaveLength(1);
  });
});
