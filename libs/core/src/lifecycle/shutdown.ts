/**
 * Nest closes the application on SIGTERM/SIGINT (enableShutdownHooks): servers
 * stop accepting, in-flight requests and jobs finish, connections close. This
 * bounds how long that may take, so a dependency that hangs (an unreachable
 * Redis, a stuck query) cannot keep a replica from stopping.
 */
export function installShutdownWatchdog(graceSeconds: number, name: string): void {
  const arm = (signal: NodeJS.Signals) => {
    const timer = setTimeout(() => {
      process.stderr.write(`ninefold ${name}: still stopping ${graceSeconds} s after ${signal}; exiting now\n`);
      process.exit(1);
    }, graceSeconds * 1000);
    timer.unref();
  };
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}
