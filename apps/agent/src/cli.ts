import http from 'node:http';
import { Agent } from './agent.js';
import { parseCommandLine, type Values } from './command-line.js';
import { type AgentConfig, AgentConfigError, type ConfigFlags, DEFAULT_INTAKE_PORT, loadConfig } from './config.js';
import { ControlPlaneClient } from './control-plane.client.js';
import { jsonLogger } from './logger.js';
import { AGENT_VERSION } from './version.js';

/** Exit codes (sysexits.h, which systemd and shell scripts understand). */
export const EXIT = { ok: 0, failure: 1, usage: 64, unavailable: 69, config: 78 } as const;

const USAGE = `ninefold-agent ${AGENT_VERSION}: heartbeats, metrics and probes for Ninefold

Usage:
  ninefold-agent [run] [options]          run the agent (the default command)
  ninefold-agent check-config [options]   validate the configuration and print it
  ninefold-agent status [options]         show a running agent's state (via its local port)
  ninefold-agent recovery-point --service NAME [--location WHERE] [--at ISO-TIME] [options]
                                          record a backup for DR tracking (end of a backup job)
  ninefold-agent version | help

Options (each also an environment variable; flags override the environment,
which overrides the config file):
  --config FILE            YAML or JSON config file            NINEFOLD_CONFIG
  --url URL                control plane, e.g. https://ninefold.example.com   NINEFOLD_URL
  --key KEY                API key with the agent role         NINEFOLD_KEY
  --key-file FILE          read the key from a file            NINEFOLD_KEY_FILE
  --instance ID            this host's instance id (default: hostname)   NINEFOLD_INSTANCE
  --zone Z, --region R     placement                           NINEFOLD_ZONE, NINEFOLD_REGION
  --address HOST           address probers reach this host at  NINEFOLD_ADDRESS
  --service NAME[:PORT]    a service to heartbeat (repeatable) NINEFOLD_SERVICES=a:80,b
  --check URL              a local check of the --service before it (repeatable):
                           http(s)://host:port/path or tcp://host:port
                                                               NINEFOLD_CHECKS=a=http://127.0.0.1/,b=tcp://127.0.0.1:5432
  --interval SECONDS       heartbeat interval (default 10)     NINEFOLD_INTERVAL_SECONDS
  --intake-port PORT       local port for apps (default ${DEFAULT_INTAKE_PORT})    NINEFOLD_INTAKE_PORT
  --intake-host HOST       (default 127.0.0.1)                 NINEFOLD_INTAKE_HOST
  --no-intake              do not take application reports
  --prober                 also answer probe tasks             NINEFOLD_PROBER=true
  --peers H:P,...          gossip seed peers                   NINEFOLD_PEERS
  --gossip-port PORT       (default 7946)                      NINEFOLD_GOSSIP_PORT
  --buffer-max N           heartbeats kept while the control plane is away (default 10000)   NINEFOLD_BUFFER_MAX
  --deregister-on-exit     deregister this instance on SIGTERM NINEFOLD_DEREGISTER_ON_EXIT=true
  --log-level LEVEL        debug, info, warn, error            NINEFOLD_LOG_LEVEL

Exit codes: 0 ok, 1 failure, 64 bad usage, 69 control plane unavailable, 78 bad configuration.
`;

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseCommandLine(argv);
  if ('error' in parsed) {
    process.stderr.write(`ninefold-agent: ${parsed.error} (ninefold-agent help lists every flag)\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? 'run';
  if (values.help || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.version || command === 'version') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) {
    process.stderr.write(`ninefold-agent: unexpected argument ${JSON.stringify(positionals[1])}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const flags = values as ConfigFlags;
  switch (command) {
    case 'run':
      return run(flags, env);
    case 'check-config':
      return checkConfig(flags, env, values.json === true);
    case 'status':
      return status(flags, env, values.json === true);
    case 'recovery-point':
      return recoveryPoint(flags, env, values);
    default:
      process.stderr.write(`ninefold-agent: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return EXIT.usage;
  }
}

function configOrExit(flags: ConfigFlags, env: NodeJS.ProcessEnv, forCommand: string): AgentConfig | number {
  try {
    return loadConfig(flags, env);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(`ninefold-agent ${forCommand}: ${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }
}

async function run(flags: ConfigFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const cfg = configOrExit(flags, env, 'run');
  if (typeof cfg === 'number') return cfg;
  const log = jsonLogger(cfg.logLevel);
  const agent = new Agent(cfg, log);
  try {
    await agent.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.error('could not start', { err: e.message, ...(e.code === 'EADDRINUSE' ? { hint: `port ${cfg.intake.port} is taken (another agent running?); set intake.port / --intake-port` } : {}) });
    await agent.stop(0).catch(() => undefined);
    return EXIT.failure;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn('second signal: exiting without waiting', { signal });
        resolve(EXIT.failure);
        return;
      }
      stopping = true;
      log.info('stopping', { signal });
      agent.stop().then(
        () => resolve(EXIT.ok),
        (err: unknown) => {
          log.error('error while stopping', { err: (err as Error).message });
          resolve(EXIT.failure);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}

function checkConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, json: boolean): number {
  const cfg = configOrExit(flags, env, 'check-config');
  if (typeof cfg === 'number') return cfg;
  const shown = { ...cfg, key: `${cfg.key.slice(0, 6)}…(${cfg.key.length} characters)`, gossip: { ...cfg.gossip, ...(cfg.gossip.secret ? { secret: '(set)' } : {}) } };
  if (json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  else {
    process.stdout.write(`configuration is valid\n`);
    process.stdout.write(`  control plane  ${cfg.url}\n  instance       ${cfg.instance}${cfg.zone ? ` (zone ${cfg.zone}${cfg.region ? `, region ${cfg.region}` : ''})` : ''}\n`);
    for (const s of cfg.services) process.stdout.write(`  service        ${s.name} every ${s.intervalSeconds} s${s.port ? `, port ${s.port}` : ''}${s.checks.length ? `, ${s.checks.length} check(s): ${s.checks.map((c) => `${c.type} ${c.target}`).join(', ')}` : ''}\n`);
    process.stdout.write(`  local port     ${cfg.intake.host}:${cfg.intake.port}${cfg.intake.enabled ? '' : ' (application reports off)'}\n`);
    process.stdout.write(`  prober         ${cfg.prober.enabled ? 'yes' : 'no'}\n  buffer         ${cfg.buffer.maxEntries} heartbeats\n`);
    if (cfg.gossip.peers.length) process.stdout.write(`  gossip         port ${cfg.gossip.port}, peers ${cfg.gossip.peers.join(', ')}\n`);
  }
  return EXIT.ok;
}

/** Asks the running agent on its local port (from the same configuration, or --intake-port). */
async function status(flags: ConfigFlags, env: NodeJS.ProcessEnv, json: boolean): Promise<number> {
  let host = '127.0.0.1';
  let port = DEFAULT_INTAKE_PORT;
  try {
    const cfg = loadConfig(flags, env);
    host = cfg.intake.host === '0.0.0.0' ? '127.0.0.1' : cfg.intake.host;
    port = cfg.intake.port;
  } catch {
    // status needs only the port: an incomplete configuration (no key here) is fine.
    const p = Number(flags['intake-port'] ?? env.NINEFOLD_INTAKE_PORT);
    if (Number.isInteger(p) && p > 0) port = p;
  }
  const body = await new Promise<{ status: number; text: string } | { error: string }>((resolve) => {
    const req = http.get({ host, port, path: '/v1/status', timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', (err) => resolve({ error: err.message }));
  });
  if ('error' in body || body.status !== 200) {
    process.stderr.write(`ninefold-agent status: no agent answering on ${host}:${port} (${'error' in body ? body.error : `HTTP ${body.status}`})\n`);
    return EXIT.unavailable;
  }
  if (json) {
    process.stdout.write(`${body.text}\n`);
    return EXIT.ok;
  }
  const s = JSON.parse(body.text) as import('./agent.js').AgentStatus;
  const p = s.push;
  const lines = [
    `ninefold-agent ${s.version}, instance ${s.instance}, up ${formatDuration(s.uptimeSeconds)}`,
    `control plane      ${s.controlPlane}`,
    `last push          ${p.lastSuccessAt ?? 'never'}${p.consecutiveFailures > 0 ? ` (failing: ${p.consecutiveFailures} attempts, retry in ${Math.ceil(p.nextAttemptInMs / 1000)} s)` : ''}`,
    `last error         ${p.lastError ? `${p.lastError} at ${p.lastErrorAt}` : 'none'}`,
    `queue              ${p.queued + p.inFlight} heartbeats waiting, ${p.sent} sent, ${p.dropped} dropped (buffer full), ${p.rejected} rejected`,
    ...s.services.map((sv) => `service ${sv.name.padEnd(10)} ${sv.status}${sv.failingChecks.length ? ` (${sv.failingChecks.map((f) => `${f.target}: ${f.error}`).join('; ')})` : ''}, every ${sv.intervalSeconds} s, last heartbeat ${sv.lastHeartbeatAt ?? 'never'}`),
    `prober             ${s.prober.enabled ? `yes, ${s.prober.answered} tasks answered${s.prober.lastError ? `, last error ${s.prober.lastError}` : ''}` : 'no'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

async function recoveryPoint(flags: ConfigFlags, env: NodeJS.ProcessEnv, values: Values): Promise<number> {
  const service = values.service?.[0];
  if (!service) {
    process.stderr.write('ninefold-agent recovery-point: --service NAME is required (the service whose backup this is)\n');
    return EXIT.usage;
  }
  // Only the control plane and the key are needed here: no services, no prober.
  const cfg = configOrExit({ ...flags, service: undefined, prober: true }, env, 'recovery-point');
  if (typeof cfg === 'number') return cfg;
  const at = values.at ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(at))) {
    process.stderr.write(`ninefold-agent recovery-point: --at ${JSON.stringify(at)} is not an ISO-8601 time\n`);
    return EXIT.usage;
  }
  const client = new ControlPlaneClient(cfg.url, cfg.key, { timeoutMs: cfg.requestTimeoutMs, userAgent: `ninefold-agent/${AGENT_VERSION}` });
  try {
    // A backup job's last step: a few quick retries ride out a blip; then fail loudly so cron reports it.
    for (let attempt = 1; ; attempt++) {
      const res = await client.post('/api/v1/recovery-points', { service, at: new Date(at).toISOString(), ...(values.location ? { location: values.location } : {}) });
      if (res.kind === 'ok') {
        process.stdout.write(`recovery point recorded for ${service} at ${new Date(at).toISOString()}\n`);
        return EXIT.ok;
      }
      const retryable = res.kind === 'failed' || res.kind === 'throttled';
      if (!retryable || attempt === 3) {
        process.stderr.write(`ninefold-agent recovery-point: not recorded: ${'status' in res && res.status ? `HTTP ${res.status}: ` : ''}${res.message}\n`);
        return res.kind === 'rejected' ? EXIT.failure : res.kind === 'unauthorized' ? EXIT.config : EXIT.unavailable;
      }
      await new Promise((r) => setTimeout(r, attempt * 1000));
    }
  } finally {
    client.close();
  }
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
