import { hostname } from 'node:os';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { QueueName, type RunCheckPayload, TtlCache } from '#core';
import { CheckResults, ChecksService, ProbesService, runCheck } from '#registry';

type Run = NonNullable<Awaited<ReturnType<ChecksService['forRun']>>>;

/** Runs pull checks: each job is one run of one check, taken by exactly one worker. */
@Processor(QueueName.Checks, { concurrency: 100 })
export class ChecksProcessor extends WorkerHost {
  private readonly logger = new Logger(ChecksProcessor.name);
  private readonly runner = `worker:${hostname()}:${process.pid}`;
  /** Check definitions change rarely; a run must not cost a Postgres query. */
  private readonly cache = new TtlCache<string, Run | null>(100_000);

  constructor(
    private readonly checks: ChecksService,
    private readonly results: CheckResults,
    private readonly probes: ProbesService,
  ) {
    super();
  }

  async process(job: Job<RunCheckPayload>): Promise<void> {
    const id = job.data.checkId;
    let run = this.cache.get(id);
    if (run === undefined) {
      run = await this.checks.forRun(id);
      this.cache.set(id, run, 30_000);
    }
    if (!run) return; // deleted since this run was scheduled
    if (run.runOn === 'probers') {
      const given = await this.probes.startCheckTask(run.identity, run.spec);
      if (!given) this.logger.warn({ checkId: id, service: run.identity.service, instance: run.identity.instance }, 'no prober connected to run this check');
      return;
    }
    const outcome = await runCheck(run.spec);
    await this.results.record(run.identity, outcome, this.runner);
  }
}
