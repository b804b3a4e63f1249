import { ago, ninesLabel, percent } from '../lib/format';
import type { OverviewItem } from '../lib/types';
import { StateBadge } from './state-badge';

const SURVIVES: [keyof OverviewItem['survives'], string, string][] = [
  ['node', 'N', 'one node'],
  ['zone', 'Z', 'one zone'],
  ['region', 'R', 'one region'],
];

/** One service on the overview: state in words, instances, 30-day availability in nines, what it survives. */
export function ServiceTile({ item, now, index, focused }: { item: OverviewItem; now: number; index: number; focused: boolean }) {
  const a30 = item.availability['30d'];
  const i = item.instances;
  return (
    <a class={`tile tile-${item.state.toLowerCase()}`} href={`/services/${item.name}`} data-index={index} data-service={item.name} tabIndex={focused ? 0 : -1}>
      <div class="tile-head">
        <span class="tile-name">{item.name}</span>
        <StateBadge state={item.state} />
      </div>
      <div class="tile-figures">
        <span title="Availability over the last 30 days">
          <strong>{percent(a30)}</strong> <span class="muted">{ninesLabel(a30)}</span>
        </span>
        <span title={`${i.up} up, ${i.suspect} suspect, ${i.down} down of ${i.total}`}>
          {i.up}/{i.total} up
        </span>
      </div>
      <div class="tile-foot">
        <span class="survives">
          {SURVIVES.map(([k, letter, what]) => (
            <span key={k} class={`survive ${item.survives[k] ? 'ok' : 'no'}`} title={`${item.survives[k] ? 'Survives' : 'Does not survive'} the loss of ${what}${item.survivalGoal === k ? ' (its goal)' : ''}`}>
              {letter}
              <span class="sr-only">{item.survives[k] ? ' survives' : ' does not survive'} losing {what}</span>
              <span aria-hidden="true">{item.survives[k] ? '✓' : '✗'}</span>
            </span>
          ))}
        </span>
        {i.flapping > 0 && (
          <span class="flag flapping" title={`${i.flapping} instance${i.flapping === 1 ? ' is' : 's are'} flapping (changing state too often)`}>
            ↯ flapping
          </span>
        )}
        {item.budget && (
          <span class={`flag ${item.budget.remaining < 0.25 ? 'low' : ''}`} title={`Error budget left of SLO ${item.budget.slo}`}>
            {item.budget.remaining < 0 ? 'budget spent' : `budget ${Math.round(item.budget.remaining * 100)} %`}
          </span>
        )}
        <span class="muted since" title={item.stateReason ?? undefined}>
          {ago(item.stateSince, now)}
        </span>
      </div>
    </a>
  );
}
