import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '#core';
import { emptyFlapState, type FlapState } from './flap-detector.js';
import type { ClusterRole, HeartbeatStatus } from './heartbeat.js';
import type { InstanceRecord } from './instance-state.js';
import type { InterArrivalStats } from './phi-accrual.js';
import type { InstanceState } from './quorum.js';

/** Where an instance is and who it belongs to: what discovery answers with. */
export interface InstancePlacement {
  serviceId: string;
  service: string;
  name: string;
  address: string | null;
  port: number | null;
  zone: string | null;
  region: string | null;
  /** Free-form labels given at registration (returned by discovery, like Consul's service meta). */
  meta?: Record<string, string> | null;
}

/** An instance as Redis holds it: detection record, placement and the version for compare-and-set. */
export interface StoredInstance {
  id: string;
  version: string;
  record: InstanceRecord;
  placement: InstancePlacement;
  /** Inter-arrival statistics of the phi-accrual detector (services with `detector: phi`). */
  phi: InterArrivalStats | null;
  /** Recent state changes, for flap damping. */
  flap: FlapState;
  /** Consensus role and term the instance reported last. */
  role: ClusterRole | null;
  term: number | null;
}

/** What to write for one instance, decided from what its hash holds. */
export interface InstanceWrite<C = unknown> {
  record: InstanceRecord;
  placement?: Partial<InstancePlacement>;
  extras?: DetectorExtras;
  /** State changes this write makes: appended to the transitions outbox atomically with it. */
  changes?: C[];
}

/** Detector state written together with a record. */
export interface DetectorExtras {
  phi?: InterArrivalStats | null;
  flap?: FlapState;
  role?: ClusterRole | null;
  term?: number | null;
}

// Compare-and-set of one instance hash and its deadline: the rules stay in
// TypeScript (instance-state.ts), Redis only guarantees that two writers
// (parallel drains, the sweep) never overwrite each other's decision. The
// state changes the write makes go into the transitions stream in the same
// step (an outbox), so none is lost if the writer dies or Postgres is down
// right after.
const CAS_LUA = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
redis.call('HINCRBY', KEYS[1], 'v', 1)
local d = tonumber(ARGV[3])
if d > 0 then redis.call('ZADD', KEYS[2], d, ARGV[2]) else redis.call('ZREM', KEYS[2], ARGV[2]) end
if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], '*', 'c', ARGV[4]) end
return 1`;

// The common case, live instances heartbeating as before: move lastSeen and
// the deadline without reading the hash first, for many instances in one
// call (KEYS[1] the deadlines, then one hash per instance; five ARGV per
// instance: id, seen, status, ttl, grace). Anything else (another state,
// status or timing, a probe round, a partition) is left alone and its
// position (1-based) returned: the caller takes the full
// read-decide-compare-and-set path for those.
const TOUCH_MANY_LUA = `
local others = {}
for i = 2, #KEYS do
  local a = (i - 2) * 5
  local h = redis.call('HMGET', KEYS[i], 'st', 'hs', 'pr', 'pt', 'ttl', 'gr', 'seen')
  if h[1] ~= 'UP' or h[2] ~= ARGV[a + 3] or (h[3] and h[3] ~= '') or h[4] == '1' or h[5] ~= ARGV[a + 4] or h[6] ~= ARGV[a + 5] then
    others[#others + 1] = i - 1
  else
    local seen = tonumber(ARGV[a + 2])
    if tonumber(h[7] or '0') < seen then
      local dl = seen + tonumber(ARGV[a + 4])
      redis.call('HSET', KEYS[i], 'seen', seen, 'dl', dl)
      redis.call('HINCRBY', KEYS[i], 'v', 1)
      redis.call('ZADD', KEYS[1], dl, ARGV[a + 1])
    end
  end
end
return others`;

/** Instances per touch script call: a few milliseconds of Redis at most, so the api's appends do not wait long behind one. */
const TOUCH_PER_CALL = 200;

/** A heartbeat for {@link InstanceStore.touchMany}. */
export interface Touch {
  id: string;
  seenMs: number;
  status: HeartbeatStatus;
  ttlMs: number;
  graceMs: number;
}

type CasClient = Redis & {
  nfInstanceTouchMany(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
  nfInstanceCas(hash: string, deadlines: string, transitions: string, expected: string, id: string, deadline: number, changes: string, ...fields: (string | number)[]): Promise<number>;
};

/**
 * Instances' live state in Redis: one hash per instance, a sorted set of
 * deadlines (what the sweep reads) and a set of instance ids per service
 * (what discovery reads). Postgres keeps the durable copy and the history.
 */
@Injectable()
export class InstanceStore {
  private readonly client: CasClient;

  constructor(private readonly redis: RedisService) {
    this.client = withScripts(redis.client);
  }

  /**
   * This store over another Redis connection: the drain's thousands of
   * live-state scripts per read go over one of their own, so the sweep's
   * commands do not queue behind them.
   */
  over(conn: Redis): InstanceStore {
    const copy = Object.create(InstanceStore.prototype) as InstanceStore;
    return Object.assign(copy, this, { client: withScripts(conn) });
  }

  hashKey(id: string): string {
    return this.redis.key('inst', id);
  }

  get deadlinesKey(): string {
    return this.redis.key('det', 'deadlines');
  }

  /** The outbox of state changes, drained into Postgres and events by {@link TransitionsConsumer}. */
  get transitionsKey(): string {
    return this.redis.key('det', 'transitions');
  }

  membersKey(serviceId: string): string {
    return this.redis.key('svc', serviceId, 'members');
  }

  /** The instances' hashes (missing ones are left out), in one round trip. */
  async load(ids: string[]): Promise<Map<string, StoredInstance>> {
    const out = new Map<string, StoredInstance>();
    if (ids.length === 0) return out;
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.hashKey(id));
    const results = (await pipeline.exec()) ?? [];
    results.forEach(([err, h], i) => {
      if (err) throw err;
      const stored = decode(ids[i], h as Record<string, string>);
      if (stored) out.set(ids[i], stored);
    });
    return out;
  }

  /**
   * Heartbeats of instances that are UP and report the same status and
   * timings as before: one script call per {@link TOUCH_PER_CALL} instances,
   * no read. Returns the ids of those in any other situation, left alone:
   * apply their heartbeats through {@link load} and {@link compareAndSet}.
   */
  async touchMany(touches: Touch[]): Promise<string[]> {
    const calls: Promise<string[]>[] = [];
    for (let i = 0; i < touches.length; i += TOUCH_PER_CALL) {
      const part = touches.slice(i, i + TOUCH_PER_CALL);
      const keys = [this.deadlinesKey];
      const args: (string | number)[] = [];
      for (const t of part) {
        keys.push(this.hashKey(t.id));
        args.push(t.id, t.seenMs, t.status, t.ttlMs, t.graceMs);
      }
      calls.push(this.client.nfInstanceTouchMany(keys.length, ...keys, ...args).then((others) => others.map((n) => part[n - 1].id)));
    }
    return (await Promise.all(calls)).flat();
  }

  /** Just the state and reported status of each instance (what service states are computed from), in one round trip. */
  async loadStates(ids: string[]): Promise<{ state: InstanceState; status: HeartbeatStatus | null }[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hmget(this.hashKey(id), 'st', 'hs');
    const results = (await pipeline.exec()) ?? [];
    const out: { state: InstanceState; status: HeartbeatStatus | null }[] = [];
    for (const [err, v] of results) {
      if (err) throw err;
      const [st, hs] = v as [string | null, string | null];
      if (st) out.push({ state: st as InstanceState, status: (hs || null) as HeartbeatStatus | null });
    }
    return out;
  }

  /**
   * Writes `record` (and placement fields when given) if nobody changed the
   * instance since `version` was read; false on a conflict, to be retried
   * from a fresh read. `changes` (the state changes this write makes) are
   * appended to the transitions stream atomically with it.
   */
  async compareAndSet(
    id: string,
    version: string,
    record: InstanceRecord,
    placement?: Partial<InstancePlacement>,
    extras: DetectorExtras = {},
    changes: unknown[] = [],
  ): Promise<boolean> {
    const fields: (string | number)[] = [
      'st', record.state, 'since', record.sinceMs, 'why', record.reason ?? '', 'seen', record.lastSeenMs,
      'hs', record.status ?? '', 'dl', record.deadlineMs, 'ttl', record.ttlMs, 'gr', record.graceMs,
      'pr', record.probe ?? '', 'pt', record.partitioned ? 1 : 0,
    ];
    if (extras.phi !== undefined) fields.push('phi', extras.phi ? JSON.stringify(extras.phi) : '');
    if (extras.flap !== undefined) fields.push('fl', JSON.stringify(extras.flap));
    if (extras.role !== undefined) fields.push('ro', extras.role ?? '');
    if (extras.term !== undefined) fields.push('te', extras.term === null ? '' : String(extras.term));
    if (placement) fields.push(...placementFields(placement));
    const ok = await this.client.nfInstanceCas(this.hashKey(id), this.deadlinesKey, this.transitionsKey, version, id, record.deadlineMs, changes.length > 0 ? JSON.stringify(changes) : '', ...fields);
    return ok === 1;
  }

  /**
   * Read, decide, compare-and-set for many instances at once: `decide` sees
   * each instance's hash (undefined when it has none yet) and returns what to
   * write, or null for nothing. Instances another writer changed meanwhile
   * are read and decided again, up to `attempts` times. Returns the writes
   * that took effect and the ids still in conflict.
   */
  async updateEach<C>(
    ids: string[],
    decide: (id: string, cur: StoredInstance | undefined) => Promise<InstanceWrite<C> | null>,
    attempts: number,
  ): Promise<{ written: InstanceWrite<C>[]; conflicts: string[] }> {
    const written: InstanceWrite<C>[] = [];
    let pending = ids;
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      const stored = await this.load(pending);
      const conflicts: string[] = [];
      await Promise.all(
        pending.map(async (id) => {
          const cur = stored.get(id);
          const w = await decide(id, cur);
          if (!w) return;
          if (await this.compareAndSet(id, cur?.version ?? '', w.record, w.placement, w.extras, w.changes)) written.push(w);
          else conflicts.push(id);
        }),
      );
      pending = conflicts;
    }
    return { written, conflicts: pending };
  }

  /** Adds an instance to its service's members (idempotent). */
  async addMember(serviceId: string, id: string): Promise<void> {
    await this.client.sadd(this.membersKey(serviceId), id);
  }

  /** Forgets an instance (deregistration). */
  async remove(id: string, serviceId: string): Promise<void> {
    await this.client.multi().del(this.hashKey(id)).zrem(this.deadlinesKey, id).srem(this.membersKey(serviceId), id).exec();
  }

  async memberIds(serviceId: string): Promise<string[]> {
    return this.client.smembers(this.membersKey(serviceId));
  }

  /** Instance ids whose deadline is at or before `nowMs`, earliest first. */
  async due(nowMs: number, limit: number): Promise<string[]> {
    return this.client.zrangebyscore(this.deadlinesKey, '-inf', nowMs, 'LIMIT', 0, limit);
  }

  async countScheduled(): Promise<number> {
    return this.client.zcard(this.deadlinesKey);
  }
}

const PLACEMENT_FIELD: Record<keyof InstancePlacement, string> = {
  serviceId: 'sid',
  service: 'svc',
  name: 'n',
  address: 'a',
  port: 'p',
  zone: 'z',
  region: 'r',
  meta: 'm',
};

/** A placement value as a hash field: objects as JSON, absent as ''. */
function fieldValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function placementFields(p: Partial<InstancePlacement>): string[] {
  return (Object.entries(p) as [keyof InstancePlacement, unknown][]).flatMap(([k, v]) => [PLACEMENT_FIELD[k], fieldValue(v)]);
}

function decode(id: string, h: Record<string, string>): StoredInstance | null {
  if (!h || !h.v) return null;
  const str = (v: string | undefined) => (v ? v : null);
  return {
    id,
    version: h.v,
    record: {
      state: (h.st as InstanceState) ?? 'UNKNOWN',
      sinceMs: Number(h.since) || 0,
      reason: str(h.why),
      lastSeenMs: Number(h.seen) || 0,
      status: (str(h.hs) as HeartbeatStatus | null) ?? null,
      deadlineMs: Number(h.dl) || 0,
      ttlMs: Number(h.ttl) || 30_000,
      graceMs: Number(h.gr) || 10_000,
      probe: str(h.pr),
      partitioned: h.pt === '1',
    },
    placement: {
      serviceId: h.sid ?? '',
      service: h.svc ?? '',
      name: h.n ?? '',
      address: str(h.a),
      port: h.p ? Number(h.p) : null,
      zone: str(h.z),
      region: str(h.r),
      meta: h.m ? (JSON.parse(h.m) as Record<string, string>) : null,
    },
    phi: h.phi ? (JSON.parse(h.phi) as InterArrivalStats) : null,
    flap: h.fl ? (JSON.parse(h.fl) as FlapState) : emptyFlapState(),
    role: (str(h.ro) as ClusterRole | null) ?? null,
    term: h.te ? Number(h.te) : null,
  };
}

function withScripts(conn: Redis): CasClient {
  if (!('nfInstanceCas' in conn)) conn.defineCommand('nfInstanceCas', { numberOfKeys: 3, lua: CAS_LUA });
  if (!('nfInstanceTouchMany' in conn)) conn.defineCommand('nfInstanceTouchMany', { lua: TOUCH_MANY_LUA });
  return conn as CasClient;
}
