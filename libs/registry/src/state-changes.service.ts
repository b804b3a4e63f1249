import { Injectable, Logger } from '@nestjs/common';
import { SqlPool } from '#core';
import { RealtimeEvent, type RealtimeMessage, RealtimePublisher } from '#realtime';
import { IngestRepository, type InstanceTransitionRow } from './ingest.repository.js';
import type { InstanceRecord, Transition } from './instance-state.js';
import { InstanceStore, type InstancePlacement } from './instance-store.js';
import { countMembers, evaluateQuorum, type QuorumRule, type ServiceState, survives, type SurvivalGoal } from './quorum.js';
import { SignalsService } from './signals.service.js';

export interface InstanceChange extends InstanceTransitionRow {
  placement: InstancePlacement;
  /** Changing state too often (flap damping): shown, and alerts for it are suppressed. */
  flapping: boolean;
}

/** A transition of an instance, with what the history and the events need to know of it. */
export function instanceChange(t: Transition, instanceId: string, record: InstanceRecord, placement: InstancePlacement, flapping: boolean): InstanceChange {
  return { ...t, instanceId, serviceId: placement.serviceId, status: record.status, lastSeenMs: record.lastSeenMs, placement, flapping };
}

/**
 * Where every instance state change goes: the history in Postgres, the
 * `instance.state` event, and the re-evaluation of its service's state
 * (`service.state` when that changes). Used by the ingest drain and the
 * detection sweep alike.
 */
@Injectable()
export class StateChanges {
  private readonly logger = new Logger(StateChanges.name);

  constructor(
    private readonly repo: IngestRepository,
    private readonly store: InstanceStore,
    private readonly sql: SqlPool,
    private readonly publisher: RealtimePublisher,
    private readonly signals: SignalsService,
  ) {}

  /** `instance.state` events and log lines: first, so live views do not wait for Postgres. */
  async announce(changes: InstanceChange[]): Promise<void> {
    if (changes.length === 0) return;
    const messages: RealtimeMessage[] = changes.map((c) => ({
      event: RealtimeEvent.InstanceState,
      payload: {
        service: c.placement.service,
        id: c.placement.name,
        from: c.from,
        state: c.to,
        since: new Date(c.atMs).toISOString(),
        reason: c.reason,
        status: c.status,
        address: c.placement.address,
        port: c.placement.port,
        zone: c.placement.zone,
        region: c.placement.region,
        lastSeenAt: c.lastSeenMs > 0 ? new Date(c.lastSeenMs).toISOString() : null,
        flapping: c.flapping,
        at: new Date(c.atMs).toISOString(),
      },
    }));
    await this.publisher.publishAll(messages);
    for (const c of changes) this.logger.log({ service: c.placement.service, instance: c.placement.name, from: c.from, to: c.to, reason: c.reason }, 'instance state changed');
  }

  /** History in Postgres, signals, and the services' states. */
  async record(changes: InstanceChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.repo.recordTransitions(changes);
    await this.signalsFor(changes);
    await this.recomputeServices([...new Set(changes.map((c) => c.serviceId))], Math.max(...changes.map((c) => c.atMs)));
  }

  /** Partitions and flapping, raised and resolved as signals (resolutions in one statement: a mass recovery is one query). */
  private async signalsFor(changes: InstanceChange[]): Promise<void> {
    const resolve: string[] = [];
    for (const c of changes) {
      const base = { serviceId: c.serviceId, instanceId: c.instanceId, service: c.placement.service, instance: c.placement.name, atMs: c.atMs };
      if (c.from === 'SUSPECT' && c.to === 'SUSPECT') {
        // Lower severity than DOWN: the instance answers probers, only its heartbeats do not arrive.
        await this.signals.raise({ ...base, kind: 'instance.partitioned', severity: 'warning', dedupKey: `partition:${c.instanceId}`, message: `${c.placement.service}/${c.placement.name}: ${c.reason}` });
      } else if (c.from === 'SUSPECT') {
        resolve.push(`partition:${c.instanceId}`);
      }
      if (c.flapping) {
        await this.signals.raise({ ...base, kind: 'instance.flapping', severity: 'info', dedupKey: `flapping:${c.instanceId}`, message: `${c.placement.service}/${c.placement.name} is flapping (more than 5 state changes in 10 minutes)` });
      } else {
        resolve.push(`flapping:${c.instanceId}`);
      }
    }
    await this.signals.resolveMany(resolve, Math.max(...changes.map((c) => c.atMs)));
  }

  /** Re-evaluates services from their members' live state; stores and announces a changed state. */
  async recomputeServices(serviceIds: string[], atMs: number): Promise<void> {
    for (const serviceId of serviceIds) {
      const { rows } = await this.sql.query<{ name: string; quorum: QuorumRule; min_healthy: number; state: ServiceState; survival_goal: SurvivalGoal | null }>(
        'SELECT name, quorum, min_healthy, state, survival_goal FROM services WHERE id = $1',
        [serviceId],
      );
      if (rows.length === 0) continue;
      const service = rows[0];
      const ids = await this.store.memberIds(serviceId);
      // Counting needs two fields per member; only a survival goal needs where they are.
      const states = await this.store.loadStates(ids);
      const degraded = states.filter((m) => m.state === 'UP' && m.status === 'degraded').length;
      const verdict = evaluateQuorum(service.quorum, countMembers(states.map((m) => m.state)), service.min_healthy);
      if (service.survival_goal) {
        const members = await this.store.load(ids);
        const placed = [...members.values()].map((m) => ({ state: m.record.state, node: m.placement.address, zone: m.placement.zone, region: m.placement.region }));
        const met = survives(service.quorum, placed, service.min_healthy)[service.survival_goal];
        const key = `survival:${serviceId}`;
        if (met) await this.signals.resolve(key, `${service.name} can lose a ${service.survival_goal} again`, atMs);
        else {
          await this.signals.raise({
            kind: 'service.survival_goal_unmet',
            severity: 'warning',
            dedupKey: key,
            serviceId,
            service: service.name,
            message: `${service.name} cannot lose a ${service.survival_goal} and keep working (survival goal: ${service.survival_goal})`,
            atMs,
          });
        }
      }
      let state = verdict.state;
      let reason = verdict.reason;
      if (state === 'UP' && degraded > 0) {
        state = 'DEGRADED';
        reason = `${degraded} of ${verdict.members} instances report themselves degraded`;
      }
      if (state === service.state) continue;
      const at = new Date(atMs).toISOString();
      const changed = await this.sql.transaction(async (tx) => {
        const cur = await tx.query<{ state: ServiceState }>('SELECT state FROM services WHERE id = $1 FOR UPDATE', [serviceId]);
        const from = cur.rows[0]?.state;
        if (!from || from === state) return null;
        await tx.query('UPDATE services SET state = $2, state_since = $3, state_reason = $4, updated_at = now() WHERE id = $1', [serviceId, state, at, reason]);
        await tx.query('INSERT INTO service_transitions (service_id, "from", "to", at, reason) VALUES ($1, $2, $3, $4, $5)', [serviceId, from, state, at, reason]);
        return from;
      });
      if (changed === null) continue;
      this.logger.log({ service: service.name, from: changed, to: state, reason }, 'service state changed');
      await this.publisher.publish(RealtimeEvent.ServiceState, {
        name: service.name,
        from: changed,
        state,
        since: at,
        reason,
        canLose: verdict.canLose,
        at,
      });
    }
  }
}
