import type { InstanceState, ServiceState } from '../lib/types';

const ICON: Record<string, string> = { UP: '●', DEGRADED: '◐', SUSPECT: '◐', DOWN: '▼', UNKNOWN: '○' };
const LABEL: Record<string, string> = { UP: 'Up', DEGRADED: 'Degraded', SUSPECT: 'Suspect', DOWN: 'Down', UNKNOWN: 'Unknown' };

/** A state in words and with a shape, never by colour alone. */
export function StateBadge({ state, large }: { state: ServiceState | InstanceState; large?: boolean }) {
  return (
    <span class={`badge state-${state.toLowerCase()}${large ? ' badge-large' : ''}`} data-state={state}>
      <span aria-hidden="true">{ICON[state] ?? '○'}</span> {LABEL[state] ?? state}
    </span>
  );
}
