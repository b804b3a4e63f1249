import type { parseHeartbeats } from './heartbeat.js';
import type { DependencyCounts, Heartbeat, HeartbeatMetrics, LatencyCounts, PeerView, RequestMetrics } from './heartbeat.js';

/**
 * The JSON of validated heartbeats: the very text `JSON.stringify` writes
 * for them, in a sixth of the time.
 *
 * The api serializes every accepted heartbeat once, for the Redis stream, and
 * with single-heartbeat requests `JSON.stringify` was the largest piece of
 * Ninefold's own work per request (about 5 % of the api's CPU). It is slow on
 * these small objects because it must look up every key and scan every
 * string for characters to escape. Here the fields are known, and validation
 * has already limited what their strings may hold (names, enums, dependency
 * and policy names, latency bounds), so they are written as they are; only
 * free text (`address`) goes through `JSON.stringify`.
 *
 * Only for heartbeats that passed {@link parseHeartbeats} (or are built from
 * validated names, as pull checks do). heartbeat-json.spec.ts checks that the
 * text equals `JSON.stringify`'s for generated valid request bodies.
 */
export function heartbeatsJson(heartbeats: readonly Heartbeat[]): string {
  return `[${heartbeatItemsJson(heartbeats)}]`;
}

/** {@link heartbeatsJson} without the brackets: the items, comma-separated, ready to join with other requests' items. */
export function heartbeatItemsJson(heartbeats: readonly Heartbeat[]): string {
  if (heartbeats.length === 0) return '';
  let s = heartbeatJson(heartbeats[0]);
  for (let i = 1; i < heartbeats.length; i++) s += ',' + heartbeatJson(heartbeats[i]);
  return s;
}

/*
 * Every field of each type is written below, in the order parseHeartbeats
 * sets them (so the text is JSON.stringify's, key order included). The
 * lists below make adding a field to one of these types without adding it
 * here a compile error that names the missing field.
 */
type Missing<T, Listed> = Exclude<keyof T, Listed>;
const listsEveryField = <T>() => <const L extends readonly (keyof T)[]>(fields: L & (Missing<T, L[number]> extends never ? unknown : { missing: Missing<T, L[number]> })) => fields;
listsEveryField<Heartbeat>()(['service', 'instance', 'status', 'atMs', 'intervalSeconds', 'address', 'port', 'zone', 'region', 'role', 'term', 'via', 'reason', 'metrics', 'peers']);
listsEveryField<HeartbeatMetrics>()(['dependencies', 'requests', 'rateLimited']);
listsEveryField<DependencyCounts>()(['calls', 'failures', 'slowCalls', 'latencyMsP50', 'latencyMsP99']);
listsEveryField<RequestMetrics>()(['total', 'errors', 'slow', 'latency']);
listsEveryField<LatencyCounts>()(['measured', 'buckets']);
listsEveryField<PeerView>()(['alive', 'suspect', 'dead']);

function heartbeatJson(hb: Heartbeat): string {
  // service, instance, status, zone, region, role and via are names matching NAME_PATTERN or fixed words: nothing to escape.
  let s = `{"service":"${hb.service}","instance":"${hb.instance}","status":"${hb.status}"`;
  if (hb.atMs !== undefined) s += `,"atMs":${num(hb.atMs)}`;
  if (hb.intervalSeconds !== undefined) s += `,"intervalSeconds":${num(hb.intervalSeconds)}`;
  // Free text.
  if (hb.address !== undefined) s += `,"address":${JSON.stringify(hb.address)}`;
  if (hb.port !== undefined) s += `,"port":${num(hb.port)}`;
  if (hb.zone !== undefined) s += `,"zone":"${hb.zone}"`;
  if (hb.region !== undefined) s += `,"region":"${hb.region}"`;
  if (hb.role !== undefined) s += `,"role":"${hb.role}"`;
  if (hb.term !== undefined) s += `,"term":${num(hb.term)}`;
  if (hb.via !== undefined) s += `,"via":"${hb.via}"`;
  if (hb.reason !== undefined) s += `,"reason":${JSON.stringify(hb.reason)}`;
  if (hb.metrics !== undefined) s += `,"metrics":${metricsJson(hb.metrics)}`;
  if (hb.peers !== undefined) s += `,"peers":${peersJson(hb.peers)}`;
  return s + '}';
}

function metricsJson(m: HeartbeatMetrics): string {
  let s = '';
  if (m.dependencies !== undefined) {
    // Dependency names are letters, digits and . _ : / -.
    let deps = '';
    for (const name in m.dependencies) {
      const d = m.dependencies[name];
      deps += `${deps === '' ? '' : ','}"${name}":{"calls":${num(d.calls)},"failures":${num(d.failures)},"slowCalls":${num(d.slowCalls)}`;
      if (d.latencyMsP50 !== undefined) deps += `,"latencyMsP50":${num(d.latencyMsP50)}`;
      if (d.latencyMsP99 !== undefined) deps += `,"latencyMsP99":${num(d.latencyMsP99)}`;
      deps += '}';
    }
    s += `,"dependencies":{${deps}}`;
  }
  if (m.requests !== undefined) {
    const r = m.requests;
    let req = `{"total":${num(r.total)},"errors":${num(r.errors)}`;
    if (r.slow !== undefined) req += `,"slow":${num(r.slow)}`;
    // Bucket keys are String(bound) of a bound of at most 7 digits and 3 decimals.
    if (r.latency !== undefined) req += `,"latency":{"measured":${num(r.latency.measured)},"buckets":${numbers(r.latency.buckets)}}`;
    s += `,"requests":${req}}`;
  }
  // Policy names match NAME_PATTERN.
  if (m.rateLimited !== undefined) s += `,"rateLimited":${numbers(m.rateLimited)}`;
  return s === '' ? '{}' : `{${s.slice(1)}}`;
}

function peersJson(p: PeerView): string {
  // Lists of instance names (NAME_PATTERN).
  return `{"alive":${names(p.alive)},"suspect":${names(p.suspect)},"dead":${names(p.dead)}}`;
}

function names(list: readonly string[]): string {
  return list.length === 0 ? '[]' : `["${list.join('","')}"]`;
}

/** An object whose keys need no escaping (validated names or bounds), with number values. */
function numbers(o: Record<string, number>): string {
  let s = '';
  for (const k in o) s += `${s === '' ? '' : ','}"${k}":${num(o[k])}`;
  return `{${s}}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}
