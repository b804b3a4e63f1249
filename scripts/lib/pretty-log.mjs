// Human-readable console output for `npm start`: turns the JSON log lines of
// the api and worker into "12:00:01 INFO  api  Context: message key=value".
// Production keeps JSON (run dist/apps/*/main.js directly, or set
// NINEFOLD_LOG_FORMAT=json with npm start).
import readline from 'node:readline';

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS = { 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'context', 'req', 'res', 'responseTime', 'reqId']);

export function formatLine(line, { colour = false } = {}) {
  if (!line.startsWith('{')) return line;
  let rec;
  try {
    rec = JSON.parse(line);
  } catch {
    return line;
  }
  const time = new Date(rec.time ?? Date.now()).toISOString().slice(11, 19);
  const level = LEVELS[rec.level] ?? String(rec.level);
  let text = `${time} ${level} ${(rec.app ?? '').padEnd(6)} ${rec.context ? `${rec.context}: ` : ''}${rec.msg ?? ''}`;
  if (rec.req) text += ` ${rec.req.method} ${rec.req.url}${rec.res ? ` → ${rec.res.statusCode}` : ''}${rec.responseTime !== undefined ? ` ${rec.responseTime} ms` : ''}`;
  const extra = Object.entries(rec).filter(([k]) => !SKIP.has(k));
  if (extra.length) text += ' ' + extra.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return colour && COLOURS[rec.level] ? `${COLOURS[rec.level]}${text}\x1b[0m` : text;
}

/** Pipes a child's stream to `out`, formatting each line; `onLine` sees each line as the child wrote it. */
export function pipePretty(stream, out, onLine = () => {}) {
  const colour = Boolean(out.isTTY);
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    onLine(line);
    out.write(formatLine(line, { colour }) + '\n');
  });
}
