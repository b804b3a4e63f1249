import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/** The parts of a decoded answer the tests read (dns-packet's typings leave rcode and flag_aa out). */
interface Reply {
  id: number;
  rcode: string;
  flag_aa: boolean;
  answers: { ttl: number; data: unknown }[];
  additionals: { data: unknown }[];
}
type DecodedPacket = Reply;
import type { HttpClient } from '../../../../test/support/http.js';
import { freePort } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

function udpQuery(port: number, name: string, type: 'A' | 'AAAA' | 'SRV'): Promise<DecodedPacket> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no DNS answer'));
    }, 3000);
    socket.once('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(msg) as unknown as Reply);
    });
    socket.send(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, '127.0.0.1');
  });
}

function tcpQuery(port: number, name: string, type: 'A' | 'SRV'): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1', () => conn.write(dnsPacket.streamEncode({ type: 'query', id: 7, questions: [{ type, name }] })));
    let buf = Buffer.alloc(0);
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        conn.end();
        resolve(dnsPacket.streamDecode(buf) as unknown as Reply);
      }
    });
    conn.on('error', reject);
  });
}

/** The DNS interface, answered from live registry state. */
describe('DNS interface (e2e)', () => {
  let stack: Stack;
  let admin: HttpClient;
  let dnsPort: number;

  beforeAll(async () => {
    dnsPort = await freePort();
    stack = await startStack({ env: { DNS_PORT: String(dnsPort) } });
    admin = stack.admin;
  });

  afterAll(() => stack?.stop());

  it('answers A and SRV for healthy instances, and stops answering for one that goes down', async () => {
    await admin.post('/api/v1/heartbeats', {
      heartbeats: [
        { service: 'web', instance: 'w-1', address: '10.0.0.1', port: 8080 },
        { service: 'web', instance: 'w-2', address: '10.0.0.2', port: 8081 },
        { service: 'web', instance: 'w-3', address: 'fd00::3', port: 8082 },
      ],
    });
    await until(() => admin.get('/api/v1/discovery/web'), (r) => r.body.items?.length === 3, 10_000);

    const a = await udpQuery(dnsPort, 'web.service.ninefold', 'A');
    expect(a.id).toBe(4242);
    expect(a.rcode).toBe('NOERROR');
    expect(a.flag_aa).toBe(true);
    expect(a.answers.map((r) => r.data as string).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(a.answers.every((r) => r.ttl === 0)).toBe(true);
    expect((await udpQuery(dnsPort, 'web.service.ninefold', 'AAAA')).answers.map((r) => r.data)).toEqual(['fd00::3']);

    const srv = await udpQuery(dnsPort, 'web.service.ninefold', 'SRV');
    const targets = srv.answers.map((r) => r.data as { port: number; target: string }).sort((x, y) => x.port - y.port);
    expect(targets).toEqual([
      { priority: 1, weight: 1, port: 8080, target: 'w-1.web.instance.ninefold' },
      { priority: 1, weight: 1, port: 8081, target: 'w-2.web.instance.ninefold' },
      { priority: 1, weight: 1, port: 8082, target: 'w-3.web.instance.ninefold' },
    ].map((t) => expect.objectContaining(t)));
    expect(srv.additionals.map((r) => r.data as string).sort()).toEqual(['10.0.0.1', '10.0.0.2', 'fd00::3']);
    expect((await udpQuery(dnsPort, 'w-2.web.instance.ninefold', 'A')).answers.map((r) => r.data)).toEqual(['10.0.0.2']);
    expect((await udpQuery(dnsPort, '_web._tcp.service.ninefold', 'SRV')).answers).toHaveLength(3);

    // Failover: the answer follows the registry at once.
    await admin.post('/api/v1/heartbeats', { service: 'web', instance: 'w-1', status: 'down' });
    await until(() => udpQuery(dnsPort, 'web.service.ninefold', 'A'), (r) => r.answers.length === 1, 10_000);
    const tcp = await tcpQuery(dnsPort, 'web.service.ninefold', 'A');
    expect(tcp.answers.map((r) => r.data)).toEqual(['10.0.0.2']);
  });

  it('answers NXDOMAIN for an unknown service and REFUSED outside its domain', async () => {
    expect((await udpQuery(dnsPort, 'nope.service.ninefold', 'A')).rcode).toBe('NXDOMAIN');
    expect((await udpQuery(dnsPort, 'example.com', 'A')).rcode).toBe('REFUSED');
  });
});
