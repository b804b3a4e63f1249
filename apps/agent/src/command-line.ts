import { parseArgs } from 'node:util';
import { closest, type ConfigFlags } from './config.js';

/** Every flag the agent takes (node:util parseArgs options). */
export const OPTIONS = {
  config: { type: 'string' },
  url: { type: 'string' },
  key: { type: 'string' },
  'key-file': { type: 'string' },
  instance: { type: 'string' },
  zone: { type: 'string' },
  region: { type: 'string' },
  address: { type: 'string' },
  service: { type: 'string', multiple: true },
  check: { type: 'string', multiple: true },
  interval: { type: 'string' },
  'intake-port': { type: 'string' },
  'intake-host': { type: 'string' },
  'no-intake': { type: 'boolean' },
  prober: { type: 'boolean' },
  peers: { type: 'string' },
  'gossip-port': { type: 'string' },
  'gossip-host': { type: 'string' },
  'buffer-max': { type: 'string' },
  'deregister-on-exit': { type: 'boolean' },
  'log-level': { type: 'string' },
  // recovery-point
  location: { type: 'string' },
  at: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** Names other tools give these flags, so a habit from elsewhere gets the right suggestion. */
const ALIASES: Record<string, string> = {
  'control-plane': 'url',
  server: 'url',
  endpoint: 'url',
  'api-url': 'url',
  host: 'url',
  token: 'key',
  'api-key': 'key',
  name: 'instance',
  id: 'instance',
  services: 'service',
  'health-check': 'check',
};

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export type CommandLine = { values: Values & ConfigFlags; positionals: string[] } | { error: string };

/**
 * Parses the agent's arguments. `--check URL` belongs to the `--service`
 * before it and comes out as `service=URL` (the form NINEFOLD_CHECKS uses).
 * A mistake is one line naming it, with the closest valid flag where there is
 * one, not parseArgs' own message.
 */
export function parseCommandLine(argv: string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    return { error: usageError(err as Error & { code?: string }) };
  }
  const { values, positionals, tokens } = parsed;
  let service: string | undefined;
  const checks: string[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    if (t.name === 'service' && typeof t.value === 'string') service = t.value.split(':')[0];
    if (t.name !== 'check' || typeof t.value !== 'string') continue;
    if (!/^(https?|tcp):\/\//.test(t.value) && /^[^=/:]+=/.test(t.value)) checks.push(t.value);
    else if (service === undefined) return { error: `--check ${t.value} must come after the --service it checks, e.g. --service web:8080 --check http://127.0.0.1:8080/healthz` };
    else checks.push(`${service}=${t.value}`);
  }
  return { values: { ...values, ...(checks.length ? { check: checks } : {}) } as Values & ConfigFlags, positionals };
}

function usageError(err: Error & { code?: string }): string {
  const unknown = /^Unknown option '(-{1,2})([^']+)'/.exec(err.message);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
    const name = unknown[2];
    const suggestion = ALIASES[name] ?? closest(name, Object.keys(OPTIONS), 3);
    return `unknown flag ${unknown[1]}${name}${suggestion ? `; did you mean --${suggestion}?` : ''}`;
  }
  const missing = /^Option '([^']+)' argument missing/.exec(err.message);
  if (missing) return `${missing[1].split(' ')[0].replace(/^-\w, /, '')} needs a value`;
  const noValue = /^Option '([^']+)' does not take an argument/.exec(err.message);
  if (noValue) return `${noValue[1]} takes no value`;
  return err.message.split('\n')[0];
}
