import dgram from 'node:dgram';
import net from 'node:net';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { DomainError, InjectConfig, type NinefoldConfig } from '#core';
import { RegistryService } from '#registry';
import { answerQuery, type DnsInstance } from './dns-answer.js';

const UDP_LIMIT = 512;

/**
 * The DNS interface (UDP and TCP, DNS_PORT, default 8600), like Consul's:
 * `dig @127.0.0.1 -p 8600 checkout.service.ninefold SRV`. Answers come from
 * the registry's live state, so failover changes them at once.
 */
@Injectable()
export class DnsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DnsServer.name);
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;

  constructor(
    private readonly registry: RegistryService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.DNS_PORT === 0) return;
    const host = this.config.DNS_HOST ?? this.config.HOST;
    try {
      this.udp = await this.listenUdp(host, this.config.DNS_PORT);
      this.tcp = await this.listenTcp(host, this.config.DNS_PORT);
      this.logger.log({ host, port: this.config.DNS_PORT }, `DNS interface on ${host}:${this.config.DNS_PORT} (udp and tcp), domain ${this.config.DNS_DOMAIN}`);
    } catch (err) {
      // The HTTP api stays useful without DNS; say clearly why DNS is off.
      this.logger.error({ err: (err as Error).message, port: this.config.DNS_PORT }, `DNS interface not started: ${(err as Error).message} (set DNS_PORT to a free port, or 0 to turn it off)`);
      await this.onApplicationShutdown();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.udp?.close();
    this.udp = null;
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    this.tcp = null;
  }

  private lookup = async (service: string): Promise<DnsInstance[] | null> => {
    try {
      return (await this.registry.discover(service, false)).map((i) => ({ id: i.id, address: i.address, port: i.port }));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'not_found') return null;
      throw err;
    }
  };

  private async respond(raw: Buffer): Promise<Packet | null> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return null; // not DNS: no answer
    }
    try {
      return await answerQuery(query, this.lookup, { domain: this.config.DNS_DOMAIN, ttl: this.config.DNS_TTL_SECONDS });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'DNS query failed');
      return { type: 'response', id: query.id, flags: 2, questions: query.questions }; // SERVFAIL
    }
  }

  private listenUdp(host: string, port: number): Promise<dgram.Socket> {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.on('message', (msg, rinfo) => {
      void this.respond(msg).then((p) => {
        if (!p) return;
        let out = dnsPacket.encode(p);
        if (out.length > UDP_LIMIT) {
          // Too big for plain UDP: say so, the client retries over TCP.
          out = dnsPacket.encode({ ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], additionals: [] });
        }
        socket.send(out, rinfo.port, rinfo.address);
      });
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.logger.warn({ err: err.message }, 'DNS udp socket error'));
        resolve(socket);
      });
    });
  }

  private listenTcp(host: string, port: number): Promise<net.Server> {
    const server = net.createServer((conn) => {
      let buffered = Buffer.alloc(0);
      conn.setTimeout(10_000, () => conn.destroy());
      conn.on('error', () => conn.destroy());
      conn.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const len = buffered.readUInt16BE(0);
          if (buffered.length < 2 + len) break;
          const msg = buffered.subarray(2, 2 + len);
          buffered = buffered.subarray(2 + len);
          void this.respond(msg).then((p) => {
            if (p && !conn.destroyed) conn.write(dnsPacket.streamEncode(p));
          });
        }
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}
