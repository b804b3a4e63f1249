import { createServer, type Server } from 'node:http';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, MetricsService, type NinefoldConfig } from '#core';

/**
 * The worker's own Prometheus endpoint (`GET /metrics` on
 * WORKER_METRICS_PORT; 0 turns it off): the drain, the failure-detection
 * sweep and the process figures live in the worker, not in the api. A port
 * already taken is warned about and the worker runs on without it.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.WORKER_METRICS_PORT === 0) return;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; GET /metrics\n');
        return;
      }
      this.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    const host = this.config.WORKER_METRICS_HOST ?? this.config.HOST;
    await new Promise<void>((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.logger.warn({ port: this.config.WORKER_METRICS_PORT, err: err.message }, 'worker metrics endpoint not started; the worker runs on without it');
        resolve();
      });
      server.listen(this.config.WORKER_METRICS_PORT, host, () => {
        this.server = server;
        this.logger.log({ host, port: this.config.WORKER_METRICS_PORT }, 'worker metrics on GET /metrics');
        resolve();
      });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
