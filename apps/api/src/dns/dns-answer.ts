import net from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';

/** The query types answered; ANY is not in the typings but is what dns-packet decodes type 255 to. */
type QueryType = 'A' | 'AAAA' | 'SRV' | 'ANY' | string;

/** What the DNS interface needs of an instance. */
export interface DnsInstance {
  id: string;
  address: string | null;
  port: number | null;
}

/** Healthy instances of a service, or null when the service does not exist. */
export type HealthyLookup = (service: string) => Promise<DnsInstance[] | null>;

const NOERROR = 0;
const NXDOMAIN = 3;
const NOTIMP = 4;
const REFUSED = 5;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Answers a DNS query the way Consul's DNS interface does, under `domain`
 * (default `ninefold`):
 * - `<service>.service.ninefold` A / AAAA: addresses of the healthy instances
 *   (shuffled, TTL `ttl`, so failover shows at once);
 * - `<service>.service.ninefold` and `_<service>._tcp.service.ninefold` SRV:
 *   one record per healthy instance with its port, the target resolvable as
 *   `<instance>.<service>.instance.ninefold` (its address in the additional section);
 * - an unknown service is NXDOMAIN; names outside the domain are REFUSED.
 */
export async function answerQuery(query: DecodedPacket, lookup: HealthyLookup, opts: { domain: string; ttl: number }): Promise<Packet> {
  const response: Packet = {
    type: 'response',
    id: query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
    questions: query.questions,
    answers: [],
    additionals: [],
  };
  const question = query.questions?.[0];
  if (!question || (query as { opcode?: string }).opcode !== 'QUERY') return withCode(response, NOTIMP);
  const qtype: QueryType = String(question.type);
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const suffix = `.${opts.domain}`;
  if (!name.endsWith(suffix)) return withCode(response, REFUSED);
  const labels = name.slice(0, -suffix.length).split('.');

  // <instance>.<service>.instance.<domain>
  if (labels.length === 3 && labels[2] === 'instance') {
    const [instance, service] = labels;
    const list = NAME.test(service) ? await lookup(service) : null;
    const found = list?.find((i) => i.id === instance);
    if (!found) return withCode(response, NXDOMAIN);
    response.answers = addressRecords(question.name, [found], qtype, opts.ttl);
    return response;
  }
  // <service>.service.<domain> or _<service>._tcp.service.<domain>
  let service: string | null = null;
  if (labels.length === 2 && labels[1] === 'service') service = labels[0];
  if (labels.length === 3 && labels[2] === 'service' && labels[1] === '_tcp' && labels[0].startsWith('_')) service = labels[0].slice(1);
  if (!service || !NAME.test(service)) return withCode(response, NXDOMAIN);
  const healthy = await lookup(service);
  if (healthy === null) return withCode(response, NXDOMAIN);
  const shuffled = shuffle(healthy);
  if (qtype === 'SRV' || qtype === 'ANY') {
    for (const i of shuffled) {
      if (!i.port || !i.address) continue;
      const target = net.isIP(i.address) ? `${i.id}.${service}.instance.${opts.domain}` : i.address;
      response.answers!.push({ type: 'SRV', name: question.name, ttl: opts.ttl, class: 'IN', data: { priority: 1, weight: 1, port: i.port, target } });
      if (net.isIP(i.address)) response.additionals!.push(...addressRecords(target, [i], 'ANY', opts.ttl));
    }
  }
  if (qtype === 'A' || qtype === 'AAAA' || qtype === 'ANY') {
    response.answers!.push(...addressRecords(question.name, shuffled, qtype, opts.ttl));
  }
  return response;
}

function addressRecords(name: string, instances: DnsInstance[], type: QueryType, ttl: number): Answer[] {
  const out: Answer[] = [];
  for (const i of instances) {
    if (!i.address) continue;
    if (net.isIPv4(i.address) && (type === 'A' || type === 'ANY')) out.push({ type: 'A', name, ttl, class: 'IN', data: i.address });
    if (net.isIPv6(i.address) && (type === 'AAAA' || type === 'ANY')) out.push({ type: 'AAAA', name, ttl, class: 'IN', data: i.address });
  }
  return out;
}

function withCode(p: Packet, rcode: number): Packet {
  p.flags = ((p.flags ?? 0) & ~0xf) | rcode;
  return p;
}

function shuffle<T>(list: T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export { NOERROR, NXDOMAIN, REFUSED };
