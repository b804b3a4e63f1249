import { Injectable } from '@nestjs/common';
import { PrismaService, RedisService } from '#core';

export type CheckResult = { status: 'up'; latencyMs: number } | { status: 'down'; error: string };

const TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Asks Postgres and Redis whether they answer, each within 2 s. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
  ) {}

  async check(): Promise<{ ready: boolean; checks: { postgres: CheckResult; redis: CheckResult } }> {
    const [postgres, redis] = await Promise.all([
      this.probe(() => this.prisma.$queryRaw`SELECT 1`, 'postgres'),
      this.probe(() => this.redis.client.ping(), 'redis'),
    ]);
    return { ready: postgres.status === 'up' && redis.status === 'up', checks: { postgres, redis } };
  }

  private async probe(fn: () => Promise<unknown>, what: string): Promise<CheckResult> {
    const t0 = performance.now();
    try {
      await withTimeout(fn(), what);
      return { status: 'up', latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
    } catch (err) {
      return { status: 'down', error: (err as Error).message.split('\n')[0].slice(0, 300) };
    }
  }
}
