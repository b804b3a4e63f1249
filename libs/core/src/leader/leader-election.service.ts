import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectConfig } from '../config/config.module.js';
import type { NinefoldConfig } from '../config/env.schema.js';
import { RedisService } from '../redis/redis.service.js';
import { LeaderElection } from './leader-election.js';

/**
 * Creates the process's leader elections, one per named singleton
 * (e.g. "scheduler"), and hands their leases back on shutdown so a successor
 * takes over at once instead of after the lease time.
 */
@Injectable()
export class LeaderElectionService implements OnModuleDestroy {
  private readonly logger = new Logger(LeaderElectionService.name);
  private readonly elections = new Map<string, LeaderElection>();
  /** This process's identity in every election. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  constructor(
    private readonly redis: RedisService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  /** Joins (once) the election named `name` and returns it, started. */
  elect(name: string): LeaderElection {
    let election = this.elections.get(name);
    if (election) return election;
    election = new LeaderElection(this.redis.connect(`leader:${name}`), {
      key: this.redis.key('leader', name),
      owner: this.owner,
      leaseMs: this.config.LEADER_LEASE_MS,
    });
    election.on('elected', (fencingToken) => this.logger.log({ lease: name, owner: this.owner, fencingToken }, 'became leader'));
    election.on('revoked', (reason) => {
      // Handing the lease back on shutdown is routine; losing it otherwise is worth a warning.
      if (reason === 'stopped') this.logger.log({ lease: name, owner: this.owner, reason }, 'no longer leader');
      else this.logger.warn({ lease: name, owner: this.owner, reason }, 'no longer leader');
    });
    this.elections.set(name, election);
    election.start();
    return election;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.elections.values()].map((e) => e.stop()));
  }
}
