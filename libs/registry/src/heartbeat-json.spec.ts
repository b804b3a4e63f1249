import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type Heartbeat, NAME_PATTERN, parseHeartbeats } from './heartbeat.js';
import { heartbeatsJson } from './heartbeat-json.js';

const NOW = Date.UTC(2026, 10, 30, 12);

const name = fc.stringMatching(NAME_PATTERN);
const count = fc.nat({ max: 1e12 });
const ms = fc.oneof(fc.nat({ max: 3_600_000 }), fc.double({ min: 0, max: 3_600_000, noNaN: true }));
/** Any string of visible characters without whitespace: quotes, backslashes, non-ASCII and lone surrogates included. */
const address = fc.string({ minLength: 1, maxLength: 80, unit: fc.oneof(fc.constantFrom('"', '\\', 'é', '\u2028', '\ud800', '\u{1f600}', '/'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }).filter((s) => !/\s/.test(s));
const dependencyName = fc.oneof(name, fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/));
const dependency = fc.record(
  { calls: fc.constant(1e6), failures: fc.nat({ max: 1e6 }), slowCalls: fc.nat({ max: 1e6 }), latencyMsP50: ms, latencyMsP99: ms },
  { requiredKeys: ['calls'] },
);
/** Cumulative `le` buckets: bounds with up to 3 decimals, counts that never fall. */
const latencyMs = fc
  .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 3_599_999 }), fc.nat({ max: 999 })), { minLength: 1, maxLength: 8, selector: ([i, f]) => i * 1000 + f })
  .filter((bounds) => bounds.every(([i, f]) => i > 0 || f > 0))
  .map((bounds) => {
    const sorted = [...bounds].sort(([a, b], [c, d]) => a * 1000 + b - (c * 1000 + d));
    return Object.fromEntries(sorted.map(([i, f], n) => [f === 0 ? String(i) : `${i}.${String(f).padStart(3, '0')}`, n * 10]));
  });
const requests = fc.record({ total: fc.constant(1e9), errors: fc.nat({ max: 1e6 }), slow: fc.nat({ max: 1e6 }), latencyMs }, { requiredKeys: ['total'] });
const metrics = fc.record(
  {
    dependencies: fc.dictionary(dependencyName, dependency, { maxKeys: 4 }),
    requests,
    rateLimited: fc.dictionary(name, count, { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);
const heartbeat = fc.record(
  {
    service: name,
    instance: name,
    status: fc.constantFrom('up', 'degraded', 'down'),
    at: fc.integer({ min: NOW - 3600_000, max: NOW + 3600_000 }).map((t) => new Date(t).toISOString()),
    intervalSeconds: fc.integer({ min: 1, max: 3600 }),
    address,
    port: fc.integer({ min: 1, max: 65535 }),
    zone: name,
    region: name,
    role: fc.constantFrom('leader', 'follower', 'primary', 'replica'),
    term: fc.maxSafeNat(),
    via: name,
    reason: fc.string({ minLength: 1, maxLength: 300, unit: 'binary-ascii' }),
    metrics,
    peers: fc.record({ alive: fc.array(name, { maxLength: 3 }), suspect: fc.array(name, { maxLength: 3 }), dead: fc.array(name, { maxLength: 3 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['service', 'instance'] },
);
const body = fc.oneof(heartbeat, fc.record({ heartbeats: fc.array(heartbeat, { minLength: 1, maxLength: 5 }) }));

function parsed(b: unknown): Heartbeat[] {
  const r = parseHeartbeats(b, NOW);
  if (!r.ok) throw new Error(`the generator made an invalid body: ${r.errors.join('; ')}`);
  return r.heartbeats;
}

describe('heartbeatsJson (the stream entries\' JSON of validated heartbeats)', () => {
  it('writes exactly what JSON.stringify writes, for any valid request body', () => {
    fc.assert(
      fc.property(body, (b) => {
        const hbs = parsed(b);
        expect(heartbeatsJson(hbs)).toBe(JSON.stringify(hbs));
      }),
      { numRuns: 2000 },
    );
  });

  it('escapes free text: an address with quotes, backslashes and a lone surrogate reads back the same', () => {
    const hbs = parsed({ service: 'web', instance: 'web-1', address: '"db"\\x\ud800é' });
    const text = heartbeatsJson(hbs);
    expect(text).toBe(JSON.stringify(hbs));
    expect(JSON.parse(text)).toEqual(hbs);
  });
});
