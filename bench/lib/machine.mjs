// What every benchmark reports about the run: the machine, the load on it when
// the run started, and the commit measured.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Cores, CPU model, memory, Node version, 1-min load average and the commit (with "+ uncommitted changes" when dirty). */
export function machineInfo(root) {
  let commit = 'unknown';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root }).toString().trim() !== '';
    commit = dirty ? `${head} + uncommitted changes` : head;
  } catch {
    // not a git checkout
  }
  return {
    cores: os.cpus().length,
    cpu: (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/) ?? [])[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    load: os.loadavg()[0].toFixed(2),
    commit,
  };
}

/** Replaces the section between the `<!-- bench:<name>:start` and `<!-- bench:<name>:end -->` markers of docs/benchmarks.md (appends it when missing). */
export function writeDocSection(root, name, section) {
  const file = path.join(root, 'docs', 'benchmarks.md');
  let doc = fs.readFileSync(file, 'utf8');
  const re = new RegExp(`<!-- bench:${name}:start[\\s\\S]*?<!-- bench:${name}:end -->`);
  doc = re.test(doc) ? doc.replace(re, () => section) : `${doc.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, doc);
}
