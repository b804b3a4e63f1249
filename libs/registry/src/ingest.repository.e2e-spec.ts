import { type NinefoldConfig, SqlPool } from '#core';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import type { Heartbeat } from './heartbeat.js';
import type { IngestEntry } from './heartbeat-stream.js';
import { IngestRepository, type KnownInstance } from './ingest.repository.js';

/**
 * The drain's write on a real Postgres: a stream entry is written once,
 * however many workers write it and however they overlap (a worker that took
 * over entries another still held, a redelivery after a crash between
 * commit and acknowledgement).
 */
describe('IngestRepository.writeEntries (e2e, Postgres)', () => {
  let db: TestDatabase;
  let sql: SqlPool;
  let repo: IngestRepository;
  let known: Map<string, KnownInstance>;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new SqlPool({ DATABASE_URL: db.url } as NinefoldConfig);
    repo = new IngestRepository(sql);
    const first: Heartbeat[] = ['w-1', 'w-2'].map((instance) => ({ service: 'write-once', instance, status: 'up' }));
    known = new Map((await repo.upsertInstances(first)).map((k) => [k.name, k]));
  });

  afterAll(async () => {
    await sql?.onApplicationShutdown();
    await db?.drop();
  });

  const entry = (streamId: string, n: number): IngestEntry => ({
    streamId,
    receivedMs: Number(streamId.split('-')[0]),
    heartbeats: Array.from({ length: n }, (_, i) => ({ service: 'write-once', instance: i % 2 ? 'w-2' : 'w-1', status: 'up', metrics: { requests: { total: 10, errors: 1 } } })),
  });
  const idOf = (h: Heartbeat) => known.get(h.instance);
  const stored = async () => {
    const hb = await db.query<{ n: string }>('SELECT count(*) AS n FROM heartbeats');
    const rollups = await db.query<{ heartbeats: string; total: string }>('SELECT coalesce(sum(heartbeats), 0) AS heartbeats, coalesce(sum(total), 0) AS total FROM request_rollups');
    const marks = await db.query<{ n: string }>('SELECT count(*) AS n FROM ingested_batches');
    return { heartbeats: Number(hb.rows[0].n), rollupHeartbeats: Number(rollups.rows[0].heartbeats), requests: Number(rollups.rows[0].total), entries: Number(marks.rows[0].n) };
  };

  it('writes overlapping sets of entries from concurrent writers once each', async () => {
    const now = Date.now();
    const entries = Array.from({ length: 40 }, (_, i) => entry(`${now + i}-0`, 1 + (i % 5)));
    const heartbeats = entries.reduce((n, e) => n + e.heartbeats.length, 0);
    // Six writers at once, each with its own overlapping run of the entries (in stream order, as the drain reads them).
    const runs = [entries, entries.slice(0, 25), entries.slice(10), entries.slice(5, 35), entries, entries.slice(20)];
    const written = await Promise.all(runs.map((run) => repo.writeEntries(run, idOf)));

    expect(written.reduce((a, b) => a + b, 0)).toBe(heartbeats);
    expect(await stored()).toEqual({ heartbeats, rollupHeartbeats: heartbeats, requests: 10 * heartbeats, entries: 40 });

    // And a redelivery after the fact writes nothing.
    expect(await repo.writeEntries(entries, idOf)).toBe(0);
    expect((await stored()).heartbeats).toBe(heartbeats);
  });
});
