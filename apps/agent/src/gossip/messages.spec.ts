import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { wireBytes } from './membership.js';
import { decodeMessage, encodeMessage, type GossipMessage, MAX_DATAGRAM_BYTES, type WireMember } from './messages.js';

const GROUP = 'agents-eu';
const SECRET = 'correct horse battery staple';
const from = { id: 'agent-1', gossip: '10.0.0.1:7946' };
const entry: WireMember = { id: 'agent-2', gossip: '10.0.0.2:7946', relayUrl: 'http://10.0.0.2:9100/v1/relay', inc: 3, hb: 1207, state: 'alive', cp: true };

const examples: GossipMessage[] = [
  { v: 1, group: GROUP, type: 'ping', seq: 41, target: 'agent-2', from, rumours: [entry] },
  { v: 1, group: GROUP, type: 'ping-req', seq: 41, target: { id: 'agent-2', gossip: '10.0.0.2:7946' }, from, rumours: [] },
  { v: 1, group: GROUP, type: 'ack', seq: 41, from, rumours: [] },
  { v: 1, group: GROUP, type: 'sync', lo: '', hi: 'agent-5', members: [entry, { ...entry, id: 'agent-3', state: 'suspect', cp: false }], from, rumours: [] },
  { v: 1, group: GROUP, type: 'sync-reply', members: [{ id: 'agent-4', gossip: '10.0.0.4:7946', inc: 0, hb: 12, state: 'dead', cp: false }], from, rumours: [] },
  { v: 1, group: GROUP, type: 'gossip', from, rumours: [{ ...entry, state: 'left' }] },
];

/** A datagram from raw JSON text (bypassing the encoder). */
const raw = (text: string) => Buffer.from(text, 'utf8');
const json = (o: unknown) => raw(JSON.stringify(o));
const decode = (buf: Buffer, secret?: string) => decodeMessage(buf, { group: GROUP, secret });
const errorOf = (buf: Buffer, secret?: string): string => {
  const r = decode(buf, secret);
  return 'error' in r ? r.error : 'decoded';
};

describe('gossip messages', () => {
  it('decodes what it encodes, every message type, with and without a MAC', () => {
    for (const m of examples) {
      expect(decode(encodeMessage(m))).toEqual(m);
      expect(decode(encodeMessage(m, SECRET), SECRET)).toEqual(m);
    }
  });

  it('rejects oversized datagrams before parsing them', () => {
    const big = { ...examples[2], pad: 'x'.repeat(MAX_DATAGRAM_BYTES) };
    expect(errorOf(json(big))).toMatch(/^oversized: \d+ bytes > 1400$/);
    expect(errorOf(Buffer.alloc(0))).toBe('empty datagram');
  });

  it('rejects malformed datagrams with a reason', () => {
    expect(errorOf(raw('{"v":1,'))).toMatch(/^malformed JSON/);
    expect(errorOf(raw('[1,2]'))).toMatch(/^malformed: not a JSON object/);
    expect(errorOf(raw('hello'))).toMatch(/^malformed/);
    expect(errorOf(json({ ...examples[0], v: 2 }))).toMatch(/^unsupported version 2/);
    expect(errorOf(json({ ...examples[0], v: undefined }))).toMatch(/^unsupported version/);
    expect(errorOf(json({ ...examples[0], type: 'pong' }))).toMatch(/^unknown type "pong"/);
    expect(errorOf(json({ ...examples[0], from: { id: 'a b', gossip: '10.0.0.1:7946' } }))).toMatch(/^from\.id may hold only/);
    expect(errorOf(json({ ...examples[0], from: { id: 'a', gossip: '10.0.0.1' } }))).toMatch(/^from\.gossip must be host:port/);
    expect(errorOf(json({ ...examples[0], from: { id: 'a', gossip: '10.0.0.1:70000' } }))).toMatch(/port must be 1-65535/);
    expect(errorOf(json({ ...examples[0], seq: -1 }))).toMatch(/^seq must be a non-negative integer/);
    expect(errorOf(json({ ...examples[0], seq: 1.5 }))).toMatch(/^seq must be a non-negative integer/);
    expect(errorOf(json({ ...examples[0], rumours: 'x' }))).toMatch(/^rumours must be an array/);
    expect(errorOf(json({ ...examples[0], rumours: [{ ...entry, state: 'zombie' }] }))).toMatch(/^rumours\[0\]\.state must be one of/);
    expect(errorOf(json({ ...examples[0], rumours: [{ ...entry, cp: 'yes' }] }))).toMatch(/^rumours\[0\]\.cp must be a boolean/);
    expect(errorOf(json({ ...examples[0], rumours: [{ ...entry, inc: '3' }] }))).toMatch(/^rumours\[0\]\.inc must be a non-negative integer/);
    expect(errorOf(json({ ...examples[0], rumours: [{ ...entry, relayUrl: 'http://a b' }] }))).toMatch(/^rumours\[0\]\.relayUrl must be printable ASCII/);
    expect(decodeMessage(json({ ...examples[0], rumours: Array(65).fill(entry) }), { group: GROUP, maxBytes: 65_000 })).toEqual({
      error: 'rumours has more than 64 entries',
    });
    expect(errorOf(json({ ...examples[1], target: 'agent-2' }))).toMatch(/^target must be an object/);
    expect(errorOf(json({ ...examples[3], hi: '' }))).toMatch(/^hi may hold only|^hi must be/);
    expect(errorOf(json({ ...examples[3], lo: 'agent-6', hi: 'agent-5' }))).toMatch(/^hi must be greater than lo/);
    expect(errorOf(json({ ...examples[3], hi: 'agent-3' }))).toMatch(/^members must lie in \[lo, hi\)/);
    expect(errorOf(json({ ...examples[4], members: undefined }))).toMatch(/^members must be an array/);
  });

  it('ignores fields it does not know (they are not passed on)', () => {
    const r = decode(json({ ...examples[2], extra: { nested: true } }));
    expect(r).toEqual(examples[2]);
  });

  it('rejects another group', () => {
    expect(errorOf(encodeMessage({ ...examples[0], group: 'agents-us' }))).toBe('wrong group "agents-us" (this node is in "agents-eu")');
    expect(errorOf(json({ ...examples[0], group: 7 }))).toBe('group must be a string');
  });

  it('with a secret: rejects a missing or wrong MAC and any tampering', () => {
    expect(errorOf(encodeMessage(examples[0]), SECRET)).toBe('missing MAC (a shared secret is configured)');
    expect(errorOf(encodeMessage(examples[0], 'another secret'), SECRET)).toBe('bad MAC');
    const signed = encodeMessage(examples[0], SECRET);
    const tampered = Buffer.from(signed.toString('utf8').replace('"seq":41', '"seq":42'), 'utf8');
    expect(errorOf(tampered, SECRET)).toBe('bad MAC');
    const flipped = Buffer.from(signed);
    flipped[0] = flipped[0] === 0x61 ? 0x62 : 0x61; // another hex digit
    expect(errorOf(flipped, SECRET)).toBe('bad MAC');
    expect(errorOf(Buffer.from('z'.repeat(64) + '{}'), SECRET)).toBe('missing MAC (a shared secret is configured)');
    // Without a secret here, a signed datagram is refused rather than half-trusted.
    expect(errorOf(signed)).toBe('unexpected MAC (no shared secret is configured here)');
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (bytes, withSecret) => {
        const r = decodeMessage(Buffer.from(bytes), { group: GROUP, secret: withSecret ? SECRET : undefined });
        expect('error' in r).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = decodeMessage(json(value), { group: GROUP });
        expect(typeof r).toBe('object');
      }),
    );
  });

  it("computes an entry's encoded size exactly (the membership packs datagrams by it)", () => {
    const id = fc.stringMatching(/^[A-Za-z0-9._:@/+=-]{1,64}$/);
    fc.assert(
      fc.property(
        fc.record(
          {
            id,
            gossip: fc.constant('10.0.0.1:7946'),
            relayUrl: fc.stringMatching(/^[!#-[\]-~]{1,200}$/),
            inc: fc.nat(),
            hb: fc.nat(),
            state: fc.constantFrom('alive' as const, 'suspect' as const, 'dead' as const, 'left' as const),
            cp: fc.boolean(),
          },
          { requiredKeys: ['id', 'gossip', 'inc', 'hb', 'state', 'cp'] },
        ),
        (e) => {
          expect(wireBytes(e)).toBe(Buffer.byteLength(JSON.stringify(e)));
        },
      ),
    );
  });
});
