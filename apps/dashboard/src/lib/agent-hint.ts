/**
 * The commands the empty states show a new user: make an agent key, then start
 * an agent from a clone of Ninefold that heartbeats a service and checks it.
 * apps/agent/src/command-line.spec.ts runs `agentArgs` through the agent's own
 * parser and configuration, so the hint cannot drift from the CLI.
 */
export const AGENT_KEY_PLACEHOLDER = '<agent key>';

/** The agent's arguments (its key comes from NINEFOLD_KEY). */
export function agentArgs(origin: string): string[] {
  return ['--url', origin, '--service', 'web:8080', '--check', 'http://127.0.0.1:8080/'];
}

/** Copy-paste shell lines: the key in single quotes (a bare `<agent key>` would be a redirection). */
export function agentCommand(origin: string): string {
  return `export NINEFOLD_KEY='${AGENT_KEY_PLACEHOLDER}'\nnpx ninefold-agent ${agentArgs(origin).join(' ')}`;
}

/** Makes a key with the agent role, with an admin key. */
export function agentKeyCommand(origin: string): string {
  return `curl -X POST ${origin}/api/v1/keys -H 'authorization: Bearer <admin key>' \\\n  -H 'content-type: application/json' -d '{"name":"agents","role":"agent"}'`;
}
