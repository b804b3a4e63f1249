import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { consume, dependencyEndpoints, InjectConfig, MetricsService, type NinefoldConfig, RedisService, TtlCache, unavailableDependency, WriteBehind } from '#core';
import type { Heartbeat } from './heartbeat.js';
import { deregisteredKey } from './registry.service.js';
import { HeartbeatStream, type IngestEntry, toIngestEntry } from './heartbeat-stream.js';
import { IngestRepository, type KnownInstance } from './ingest.repository.js';
import { ClusterWatch } from './cluster-watch.service.js';
import { GossipEvidenceStore } from './gossip-evidence.js';
import { applyBeats, isFlapping } from './detection.js';
import { emptyFlapState } from './flap-detector.js';
import { newRecord, timings } from './instance-state.js';
import { type InstancePlacement, InstanceStore, type Touch } from './instance-store.js';
import { type InstanceChange, instanceChange } from './state-changes.service.js';

/** Stream entries (requests) read per round at most; small requests are many, so read many at once. */
const READ_COUNT = 1000;
/**
 * Heartbeats one read aims at: entries hold 1 to 1,000 heartbeats, so a read
 * of {@link READ_COUNT} large ones would hold a million, and on a slow
 * machine take longer to write than a pending entry may stay idle before
 * another worker takes it over as abandoned (30 s).
 */
const READ_HEARTBEATS = 20_000;
/** Heartbeats processed (and written to Postgres) together: large enough to amortise round trips, small enough for one statement. */
const CHUNK_HEARTBEATS = 20_000;
const BLOCK_MS = 1000;
/** Heartbeats applied to live state and kept in memory until written; beyond, applied chunks wait for the writer in the stream ({@link handleRead}). */
const MAX_QUEUED_HEARTBEATS = 2 * CHUNK_HEARTBEATS;
/** Entries applied and not yet written (in memory or in the stream) that stop the next read until the writer catches up. */
const MAX_UNWRITTEN_ENTRIES = 100_000;
const LAST_SEEN_FLUSH_MS = 30_000;
const CAS_ATTEMPTS = 8;

const nameKey = (service: string, instance: string) => `${service}/${instance}`;

/**
 * Drains the heartbeat stream into live state (Redis) and history (Postgres).
 * Each worker replica is one consumer of the group, so replicas share the
 * load; an entry is acknowledged only after Postgres has it, and entries a
 * dead worker held are claimed by another (see {@link consume}).
 */
@Injectable()
export class IngestDrain implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IngestDrain.name);
  private readonly consumer = `${hostname()}:${process.pid}`;
  private readonly known = new TtlCache<string, KnownInstance>(200_000);
  private readonly lastFlushed = new Map<string, number>();
  private conn!: Redis;
  private subscriber!: Redis;
  private running = false;
  private loop: Promise<void> | null = null;
  private live!: InstanceStore;
  /** Whether applied chunks are waiting in the stream for the writer (logged when it starts and ends). */
  private writesBehind = false;
  /** Entries the next read asks for: about {@link READ_HEARTBEATS} heartbeats at the size of the last read's entries. */
  private readCount = READ_COUNT;
  /** Chunks applied to live state, written to Postgres and acknowledged while the next reads are applied ({@link handleRead}). */
  private readonly writer = new WriteBehind<QueuedChunk>({
    write: ([next]) => this.writeChunk(next),
    maxWeight: MAX_QUEUED_HEARTBEATS,
    itemsPerWrite: 1,
  });

  constructor(
    private readonly redis: RedisService,
    private readonly stream: HeartbeatStream,
    private readonly repo: IngestRepository,
    private readonly store: InstanceStore,
    private readonly clusters: ClusterWatch,
    private readonly gossip: GossipEvidenceStore,
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  onApplicationBootstrap(): void {
    // XREADGROUP BLOCK holds its connection: it gets one of its own.
    this.conn = this.redis.connect('ingest-drain', { maxRetriesPerRequest: null, commandTimeout: undefined });
    // The live-state scripts (thousands per read) on a connection of their own: the sweep's commands do not queue behind them.
    this.live = this.store.over(this.redis.connect('ingest-live'));
    // Registrations and deregistrations through the API change what is cached here.
    this.subscriber = this.redis.connect('registry-changes');
    const channel = this.redis.key('registry', 'changed');
    void this.subscriber.subscribe(channel).catch(() => undefined);
    this.subscriber.on('message', (_channel: string, name: string) => {
      const [service, instance] = name.split('/');
      if (instance === '*') this.known.clear();
      else this.forget(service, instance);
    });
    // Missed messages while disconnected: start afresh.
    this.subscriber.on('ready', () => this.known.clear());
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    // What waits to be written stays pending in the stream (the next start, or another worker, writes it):
    // a backlog read ahead of Postgres could take longer than the shutdown grace.
    this.writer.abandon();
    await this.writer.settled();
  }

  private get knownTtlMs(): number {
    return this.config.INGEST_INSTANCE_CACHE_SECONDS * 1000;
  }

  /** Forgets what is cached of an instance (it was deregistered or changed by the API). */
  forget(service: string, instance: string): void {
    this.known.delete(nameKey(service, instance));
  }

  private run(): Promise<void> {
    return consume(this.stream.group, {
      conn: this.conn,
      consumer: this.consumer,
      count: () => this.readCount,
      blockMs: BLOCK_MS,
      abandonedAfterMs: this.config.WORKER_TAKEOVER_SECONDS * 1000,
      running: () => this.running,
      logger: this.logger,
      what: 'heartbeat drain',
      // Live state is applied before the Postgres write and ignores heartbeats older than the last seen:
      // while Postgres is down, new heartbeats still reach live state (failure detection goes on).
      readNewWhileFailing: true,
      // Acknowledged by the writer once written.
      handle: (raw) => this.handleRead(raw.map(toIngestEntry)),
      behind: { writer: this.writer, conn: this.redis.client },
      // Says it is alive, so that if this worker is killed, another takes its entries over at once (not after WORKER_TAKEOVER_SECONDS).
      alive: { conn: this.redis.client },
    });
  }

  /**
   * One read of the stream: each chunk applied to live state and marked
   * applied (so failure detection may judge silence past it), then queued for
   * the writer, which writes chunks to Postgres and acknowledges them while
   * the next reads are applied.
   *
   * Failure detection judges silence only up to the oldest heartbeat not yet
   * applied, and writing heartbeats to Postgres is far slower than applying
   * them: if reads waited for writes, detection would lag by the whole write
   * backlog whenever Postgres cannot keep up (100,000 instances on a small
   * machine). So reads do not wait for the writer. Up to
   * {@link MAX_QUEUED_HEARTBEATS} applied heartbeats wait in memory; beyond,
   * a chunk is queued by its entry ids only, and the writer reads it again
   * from the stream when its turn comes (the entries stay pending for this
   * worker meanwhile). Only beyond {@link MAX_UNWRITTEN_ENTRIES} does a read
   * wait. A failed write is reported to {@link consume} at its next round,
   * which then retries what is pending (see {@link WriteBehind}).
   */
  private async handleRead(entries: IngestEntry[]): Promise<void> {
    const startedMs = performance.now();
    const perEntry = heartbeatCount(entries) / Math.max(1, entries.length);
    this.readCount = Math.max(10, Math.min(READ_COUNT, Math.round(READ_HEARTBEATS / Math.max(1, perEntry))));
    const parts = chunks(entries);
    for (const [i, chunk] of parts.entries()) {
      const live = await this.applyLive(chunk);
      const ids = chunk.map((e) => e.streamId);
      await this.stream.markApplied(this.conn, ids);
      // Queued at once: the writer starts on it while the next chunk is applied.
      const readStartedMs = i === parts.length - 1 ? startedMs : null;
      const heartbeats = heartbeatCount(chunk);
      if (this.writer.queuedWeight === 0 || this.writer.queuedWeight + heartbeats <= MAX_QUEUED_HEARTBEATS) {
        this.writer.push(ids, { chunk, live, readStartedMs }, heartbeats);
        if (this.writesBehind && this.writer.heldCount === ids.length) {
          this.writesBehind = false;
          this.logger.log('Postgres writes caught up with the heartbeats applied');
        }
      } else {
        this.writer.push(ids, { deferred: ids, rolesChanged: live.rolesChanged, readStartedMs }, 0);
        if (!this.writesBehind) {
          this.writesBehind = true;
          this.logger.warn(
            { queuedHeartbeats: this.writer.queuedWeight },
            'Postgres writes are behind the heartbeats applied: applied entries wait in the stream for the writer (failure detection is not held back)',
          );
        }
      }
    }
    await this.writer.until(() => this.writer.heldCount <= MAX_UNWRITTEN_ENTRIES);
  }

  /** A chunk written to Postgres and acknowledged (its entries deleted, their applied marks dropped). */
  private async writeChunk(item: QueuedChunk): Promise<void> {
    let chunk: IngestEntry[];
    let live: Applied;
    if ('deferred' in item) {
      // Applied earlier and let go of: read again (still pending for this worker), and its instances looked up again.
      chunk = (await this.stream.group.readAgain(this.redis.client, this.consumer, item.deferred)).map(toIngestEntry);
      live = { instances: await this.lookup(chunk), rolesChanged: item.rolesChanged };
    } else {
      ({ chunk, live } = item);
    }
    await this.persist(chunk, live);
    await this.stream.acknowledge(this.redis.client, 'deferred' in item ? item.deferred : chunk.map((e) => e.streamId));
    if (item.readStartedMs !== null) this.metrics.drainSeconds.observe((performance.now() - item.readStartedMs) / 1000);
  }

  /**
   * The entries' heartbeats applied to live state in Redis (instances Ninefold
   * knows are resolved from its cache; new ones are registered in Postgres).
   */
  private async applyLive(entries: IngestEntry[]): Promise<Applied> {
    const { instances, moved } = await this.resolve(entries);
    // State changes go to the transitions outbox with each write; the transitions consumer records and announces them.
    const rolesChanged = await this.detect(entries, instances, moved);
    return { instances, rolesChanged };
  }

  /** The entries' heartbeats, cluster roles, last-seen times and gossip views written to Postgres. */
  private async persist(entries: IngestEntry[], { instances, rolesChanged }: Applied): Promise<void> {
    const written = await this.repo.writeEntries(entries, (h) => instances.get(nameKey(h.service, h.instance)));
    if (rolesChanged.size > 0) {
      for (const id of rolesChanged) await this.clusters.markCluster(id);
      await this.clusters.evaluate([...rolesChanged], Date.now());
    }
    await this.flushLastSeen(entries, instances);
    // Agents' gossip views: evidence about their peers when one falls silent.
    const views = entries.flatMap((e) => e.heartbeats.flatMap((h) => (h.peers ? [{ reporter: h.instance, peers: h.peers, receivedMs: e.receivedMs }] : [])));
    if (views.length > 0) await this.gossip.record(views);
    this.metrics.heartbeatsIngested.inc(written);
  }

  /**
   * The instances of entries already applied (so registered when they were):
   * from the cache, else from Postgres. Unlike {@link resolve} it registers
   * and updates nothing, so an instance removed since is not brought back.
   */
  private async lookup(entries: IngestEntry[]): Promise<Map<string, KnownInstance>> {
    const out = new Map<string, KnownInstance>();
    const missing = new Map<string, [string, string]>();
    for (const e of entries) {
      for (const h of e.heartbeats) {
        const k = nameKey(h.service, h.instance);
        if (out.has(k) || missing.has(k)) continue;
        const cached = this.known.peek(k);
        if (cached) out.set(k, cached.value);
        else missing.set(k, [h.service, h.instance]);
      }
    }
    if (missing.size > 0) for (const inst of await this.repo.findByNames([...missing.values()])) out.set(nameKey(inst.service, inst.name), inst);
    return out;
  }

  /**
   * Ids of every instance named in the entries, registering new ones and
   * recording changed placements; `moved` holds the ids of those whose
   * placement or interval changed (their live record must be rewritten).
   */
  private async resolve(entries: IngestEntry[]): Promise<{ instances: Map<string, KnownInstance>; moved: Set<string> }> {
    const out = new Map<string, KnownInstance>();
    const missing = new Map<string, Heartbeat>();
    /** What the cache held of missing instances after it expired: used while Postgres is down. */
    const stale = new Map<string, KnownInstance>();
    const latest = new Map<string, Heartbeat>();
    const lastReceived = new Map<string, number>();
    for (const e of entries) {
      for (const h of e.heartbeats) {
        const k = nameKey(h.service, h.instance);
        latest.set(k, h);
        lastReceived.set(k, e.receivedMs);
        if (out.has(k) || missing.has(k)) continue;
        const cached = this.known.peek(k);
        if (cached?.fresh) out.set(k, cached.value);
        else {
          missing.set(k, h);
          if (cached) stale.set(k, cached.value);
        }
      }
    }
    if (missing.size > 0) {
      // An instance deregistered after these heartbeats were received stays deregistered:
      // they are dropped rather than registering it again.
      const keys = [...missing.values()].map((h) => deregisteredKey(this.redis, h.service, h.instance));
      const tombs = await this.redis.client.mget(...keys);
      [...missing.keys()].forEach((k, i) => {
        const at = tombs[i] === null ? NaN : Number(tombs[i]);
        if (at >= (lastReceived.get(k) ?? 0)) missing.delete(k);
      });
    }
    if (missing.size > 0) {
      let found: KnownInstance[];
      try {
        found = await this.repo.upsertInstances([...missing.values()]);
        for (const inst of found) this.known.set(nameKey(inst.service, inst.name), inst, this.knownTtlMs);
      } catch (err) {
        // Postgres is down: instances this worker knew are applied as it knew them (nothing about them can change
        // in Postgres meanwhile), so failure detection goes on for them however long the outage; new ones wait.
        if (unavailableDependency(err, dependencyEndpoints(this.config.DATABASE_URL, this.config.REDIS_URL)) !== 'postgres' || [...missing.keys()].some((k) => !stale.has(k))) throw err;
        found = [...missing.keys()].map((k) => stale.get(k)!);
      }
      for (const inst of found) out.set(nameKey(inst.service, inst.name), inst);
    }
    // A heartbeat that reports another address, zone, region or interval updates the registry.
    const moved: KnownInstance[] = [];
    for (const [k, h] of latest) {
      const cur = out.get(k);
      if (!cur) continue;
      const next: KnownInstance = {
        ...cur,
        address: h.address ?? cur.address,
        port: h.port ?? cur.port,
        zone: h.zone ?? cur.zone,
        region: h.region ?? cur.region,
        intervalSeconds: h.intervalSeconds ?? cur.intervalSeconds,
      };
      if (next.address !== cur.address || next.port !== cur.port || next.zone !== cur.zone || next.region !== cur.region || next.intervalSeconds !== cur.intervalSeconds) {
        moved.push(next);
        out.set(k, next);
        this.known.set(k, next, this.knownTtlMs);
      }
    }
    await this.repo.updatePlacement(moved);
    return { instances: out, moved: new Set(moved.map((m) => m.id)) };
  }

  /**
   * Applies each instance's heartbeats, in order, to its live record in Redis
   * (its state changes go to the transitions outbox with the write). Returns
   * the services whose members reported a new consensus role or term.
   */
  private async detect(entries: IngestEntry[], instances: Map<string, KnownInstance>, moved: Set<string>): Promise<Set<string>> {
    const byInstance = new Map<string, { known: KnownInstance; beats: { receivedMs: number; h: Heartbeat }[] }>();
    for (const e of entries) {
      for (const h of e.heartbeats) {
        const known = instances.get(nameKey(h.service, h.instance));
        if (!known) continue;
        let slot = byInstance.get(known.id);
        if (!slot) byInstance.set(known.id, (slot = { known, beats: [] }));
        slot.beats.push({ receivedMs: e.receivedMs, h });
      }
    }
    // Fast path: instances heartbeating as before (fixed detector, one status, no role, same placement), in a few script calls.
    const full: string[] = [];
    const touches: Touch[] = [];
    for (const [id, { known, beats }] of byInstance) {
      const status = beats[0].h.status;
      const plain =
        known.detector === 'fixed' &&
        !moved.has(id) &&
        status !== 'down' &&
        beats.every(({ h }) => h.status === status && h.role === undefined && h.term === undefined && (h.intervalSeconds ?? known.intervalSeconds) === known.intervalSeconds);
      if (!plain) {
        full.push(id);
        continue;
      }
      const t = timings(known.intervalSeconds, known.ttlSeconds, known.graceSeconds);
      let last = 0;
      for (const b of beats) if (b.receivedMs > last) last = b.receivedMs;
      touches.push({ id, seenMs: last, status, ttlMs: t.ttlMs, graceMs: t.graceMs });
    }
    full.push(...(await this.live.touchMany(touches)));
    const rolesChanged = new Set<string>();
    const { conflicts } = await this.live.updateEach<InstanceChange>(
      full,
      async (id, cur) => {
        const { known, beats } = byInstance.get(id)!;
        const outcome = applyBeats(
          cur?.record ?? newRecord(beats[0].receivedMs, timings(known.intervalSeconds, known.ttlSeconds, known.graceSeconds)),
          cur?.phi ?? null,
          cur?.flap ?? emptyFlapState(),
          beats.map(({ receivedMs, h }) => ({ receivedMs, status: h.status, intervalSeconds: h.intervalSeconds, reason: h.reason })),
          known,
        );
        // Consensus role and term: the newest heartbeat that says.
        const withRole = [...beats].reverse().find(({ h }) => h.role !== undefined || h.term !== undefined)?.h;
        const role = withRole?.role ?? cur?.role ?? null;
        const term = withRole?.term ?? cur?.term ?? null;
        const roleChanged = withRole !== undefined && (role !== (cur?.role ?? null) || term !== (cur?.term ?? null));
        if (roleChanged) rolesChanged.add(known.serviceId);
        const placement = placementOf(known);
        // A new instance joins its service (idempotent, so a lost race does no harm).
        if (!cur) await this.live.addMember(known.serviceId, id);
        return {
          record: outcome.record,
          placement: !cur || !samePlacement(cur.placement, placement) ? placement : undefined,
          extras: {
            ...(known.detector === 'phi' || cur?.phi ? { phi: outcome.phi } : {}),
            ...(outcome.transitions.length > 0 || !cur ? { flap: outcome.flap } : {}),
            ...(roleChanged ? { role, term } : {}),
          },
          changes: outcome.transitions.map((tr) => instanceChange(tr, id, outcome.record, placement, isFlapping(outcome.flap, tr.atMs))),
        };
      },
      CAS_ATTEMPTS,
    );
    if (conflicts.length > 0) throw new Error(`could not update ${conflicts.length} instance(s) after ${CAS_ATTEMPTS} attempts (contention)`);
    return rolesChanged;
  }

  /** Postgres learns last-seen times at most every {@link LAST_SEEN_FLUSH_MS} per instance: the live value is in Redis. */
  private async flushLastSeen(entries: IngestEntry[], instances: Map<string, KnownInstance>): Promise<void> {
    const now = Date.now();
    const due = new Map<string, { id: string; lastSeenMs: number; status: string | null }>();
    for (const e of entries) {
      for (const h of e.heartbeats) {
        const known = instances.get(nameKey(h.service, h.instance));
        if (!known) continue;
        if (now - (this.lastFlushed.get(known.id) ?? 0) < LAST_SEEN_FLUSH_MS && !due.has(known.id)) continue;
        due.set(known.id, { id: known.id, lastSeenMs: e.receivedMs, status: h.status });
      }
    }
    if (due.size === 0) return;
    await this.repo.flushLastSeen([...due.values()]);
    for (const id of due.keys()) this.lastFlushed.set(id, now);
    if (this.lastFlushed.size > 200_000) this.lastFlushed.clear();
  }
}

function heartbeatCount(entries: IngestEntry[]): number {
  let n = 0;
  for (const e of entries) n += e.heartbeats.length;
  return n;
}

/** Consecutive groups of entries holding at most {@link CHUNK_HEARTBEATS} heartbeats (one entry may exceed it alone). */
function chunks(entries: IngestEntry[]): IngestEntry[][] {
  const out: IngestEntry[][] = [];
  let cur: IngestEntry[] = [];
  let n = 0;
  for (const e of entries) {
    if (cur.length > 0 && n + e.heartbeats.length > CHUNK_HEARTBEATS) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(e);
    n += e.heartbeats.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function placementOf(k: KnownInstance): InstancePlacement {
  return { serviceId: k.serviceId, service: k.service, name: k.name, address: k.address, port: k.port, zone: k.zone, region: k.region, meta: k.meta ?? null };
}

function samePlacement(a: InstancePlacement, b: InstancePlacement): boolean {
  return (
    a.serviceId === b.serviceId &&
    a.service === b.service &&
    a.name === b.name &&
    a.address === b.address &&
    a.port === b.port &&
    a.zone === b.zone &&
    a.region === b.region &&
    JSON.stringify(a.meta ?? null) === JSON.stringify(b.meta ?? null)
  );
}

/** What applying entries to live state found: their instances, and the services whose members reported a new role or term. */
interface Applied {
  instances: Map<string, KnownInstance>;
  rolesChanged: Set<string>;
}

/**
 * A chunk applied to live state, waiting to be written: in memory, or only
 * its entry ids (`deferred`: read again from the stream when written). The
 * read that queued it last times the drain (`readStartedMs`).
 */
type QueuedChunk = ({ chunk: IngestEntry[]; live: Applied } | { deferred: string[]; rolesChanged: Set<string> }) & { readStartedMs: number | null };
