#!/usr/bin/env node
// Entry point of the ninefold-agent CLI (see cli.ts).
import { main } from './cli.js';

// `ninefold-agent status | head -1` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
    // Timers and sockets are closed on the way out; this only guards against a leftover handle.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`ninefold-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
