import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

/**
 * The agent's small HTTP servers (the local intake, the gossip relay): a
 * handler that never takes the process down (an error is logged and
 * answered 500), timeouts against slow clients, JSON answers.
 */
export class JsonHttpServer {
  private server?: http.Server;

  constructor(
    private readonly name: string,
    private readonly handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
    private readonly log: Logger,
    private readonly requestTimeoutMs = 15_000,
  ) {}

  /** Listens; resolves with the port (useful with port 0). */
  async listen(host: string, port: number): Promise<number> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error(`${this.name} request failed`, { err: (err as Error).message, url: req.url });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
    });
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = this.requestTimeoutMs;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error(`${this.name} server error`, { err: err.message }));
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}

/** The request body; null when it is larger than `limit` bytes, after answering 413 and dropping the connection. */
export async function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      sendJson(res, 413, { error: `body larger than ${limit} bytes` });
      req.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
