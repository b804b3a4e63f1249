import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server. `cut()` drops every
 * connection and refuses new ones, as if the server died; `restore()` lets
 * traffic through again. Used to take Postgres or Redis "down" for one test
 * without touching the server other tests share.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Proxies `url`'s host:port and returns the same URL pointing at the proxy. */
  static async for(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const u = new URL(url);
    const proxy = new TcpProxy(u.hostname, Number(u.port));
    await proxy.start();
    u.port = String(proxy.port);
    return { proxy, url: u.toString() };
  }

  async start(port = this.port): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Drops every connection and stops listening: clients get ECONNREFUSED. */
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Listens again on the same port (nothing to do when it still listens). */
  async restore(): Promise<void> {
    if (this.server) return;
    await this.start(this.port);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
