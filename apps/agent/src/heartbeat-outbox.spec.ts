import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import type { Outcome } from './control-plane.client.js';
import { HeartbeatOutbox, type SendBatch, UNAUTHORIZED_RETRY_MS } from './heartbeat-outbox.js';
import type { Logger } from './logger.js';
import type { WireHeartbeat } from './wire.js';

// The outbox's retry timer is a real setTimeout: these tests run on Jest's
// fake timers, and give the outbox the (fake) Date.now as its clock so the
// two agree. Nothing here waits in real time.
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});
afterEach(() => {
  jest.useRealTimers();
});

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => {
    lines.push({ level, msg });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Heartbeats numbered from..from+n-1; the number is in the instance id, so tests can follow each one. */
function hbs(from: number, n: number): WireHeartbeat[] {
  return Array.from({ length: n }, (_, i) => ({ service: 'web', instance: `i-${from + i}`, status: 'up', at: new Date(T0).toISOString(), intervalSeconds: 10 }));
}
const ids = (list: readonly WireHeartbeat[]): number[] => list.map((h) => Number(h.instance.slice(2)));
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

const OK: Outcome = { kind: 'ok', status: 202, body: { accepted: 1 }, headers: {} };
const failed = (message = 'POST /api/v1/heartbeats: ECONNREFUSED connect ECONNREFUSED'): Outcome => ({ kind: 'failed', message });

/** Lets the outbox's promise chain run (answers are promises) without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);

interface PendingCall {
  heartbeats: WireHeartbeat[];
  key: string;
  answer(o: Outcome): Promise<void>;
  fail(err: Error): Promise<void>;
}

/** A control plane that answers each request when the test says so. */
class ManualControlPlane {
  readonly calls: PendingCall[] = [];
  pending = 0;
  maxPending = 0;

  readonly send: SendBatch = (heartbeats, key) =>
    new Promise<Outcome>((resolve, reject) => {
      this.pending++;
      this.maxPending = Math.max(this.maxPending, this.pending);
      const done = () => {
        this.pending--;
      };
      this.calls.push({
        heartbeats: [...heartbeats],
        key,
        answer: (o) => {
          done();
          resolve(o);
          return settle();
        },
        fail: (err) => {
          done();
          reject(err);
          return settle();
        },
      });
    });

  get last(): PendingCall {
    const c = this.calls.at(-1);
    if (!c) throw new Error('no request made');
    return c;
  }
}

type Step =
  | { kind: 'ok' }
  /** Stored, but the answer was lost on the way back. */
  | { kind: 'lost' }
  | { kind: 'failed' }
  | { kind: 'throw' }
  | { kind: 'throttled'; retryAfterMs?: number }
  | { kind: 'unauthorized' }
  | { kind: 'rejected'; status: 400 | 413 };

/**
 * A control plane that answers at once, from a script (then `ok` forever),
 * and stores heartbeats as the real one does: once per Idempotency-Key.
 */
class ScriptedControlPlane {
  readonly stored: WireHeartbeat[] = [];
  readonly rejected: WireHeartbeat[] = [];
  readonly calls: { ids: number[]; key: string; step: Step['kind'] }[] = [];
  private readonly keys = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly script: Step[] = []) {}

  readonly send: SendBatch = async (heartbeats, key) => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await Promise.resolve(); // the answer comes later than the call
      let step = this.script.shift() ?? { kind: 'ok' };
      // A key the server has stored gets the stored answer back, never a rejection.
      if (step.kind === 'rejected' && this.keys.has(key)) step = { kind: 'ok' };
      this.calls.push({ ids: ids(heartbeats), key, step: step.kind });
      switch (step.kind) {
        case 'ok':
          this.store(heartbeats, key);
          return OK;
        case 'lost':
          this.store(heartbeats, key);
          return failed('socket hang up');
        case 'failed':
          return failed();
        case 'throw':
          throw new Error('unexpected');
        case 'throttled':
          return { kind: 'throttled', status: 429, message: 'slow down', ...(step.retryAfterMs !== undefined ? { retryAfterMs: step.retryAfterMs } : {}) };
        case 'unauthorized':
          return { kind: 'unauthorized', status: 401, message: 'invalid API key' };
        case 'rejected':
          if (step.status === 400 || heartbeats.length === 1) this.rejected.push(...heartbeats);
          return { kind: 'rejected', status: step.status, message: step.status === 413 ? 'payload too large' : 'heartbeats[0].service is required' };
      }
    } finally {
      this.inFlight--;
    }
  };

  private store(heartbeats: WireHeartbeat[], key: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.stored.push(...heartbeats);
  }
}

const BACKOFF = { baseMs: 1000, maxMs: 30_000 };

function makeOutbox(send: SendBatch, opts: { maxEntries?: number; log?: Logger; random?: () => number; backoff?: { baseMs: number; maxMs: number }; probe?: () => Promise<boolean> } = {}): HeartbeatOutbox {
  return new HeartbeatOutbox(send, {
    probe: opts.probe,
    maxEntries: opts.maxEntries ?? 10_000,
    log: opts.log ?? silent,
    now: () => Date.now(),
    random: opts.random ?? (() => 0.5),
    backoff: opts.backoff ?? BACKOFF,
  });
}

describe('HeartbeatOutbox: sending', () => {
  it('sends pushed heartbeats at once, in one batch, and reports success', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    const results: boolean[] = [];
    box.onResult((ok) => results.push(ok));

    box.push(hbs(0, 3));
    expect(cp.calls).toHaveLength(1);
    expect(ids(cp.last.heartbeats)).toEqual([0, 1, 2]);
    expect(cp.last.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(box.status()).toMatchObject({ queued: 0, inFlight: 3, sent: 0 });
    expect(box.size).toBe(3);

    jest.advanceTimersByTime(1234);
    await cp.last.answer(OK);
    expect(box.status()).toEqual({
      queued: 0,
      inFlight: 0,
      dropped: 0,
      rejected: 0,
      sent: 3,
      lastSuccessAt: new Date(T0 + 1234).toISOString(),
      lastError: null,
      lastErrorAt: null,
      consecutiveFailures: 0,
      nextAttemptInMs: 0,
    });
    expect(results).toEqual([true]);
    expect(box.size).toBe(0);
  });

  it('keeps at most one request in flight and sends what arrived meanwhile next, in push order', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 2));
    box.push(hbs(2, 1));
    box.push(hbs(3, 2));
    await settle();
    expect(cp.calls).toHaveLength(1);
    expect(box.status()).toMatchObject({ queued: 3, inFlight: 2 });

    await cp.last.answer(OK);
    expect(cp.calls).toHaveLength(2);
    expect(ids(cp.last.heartbeats)).toEqual([2, 3, 4]);
    expect(cp.calls[1].key).not.toBe(cp.calls[0].key);
    await cp.last.answer(OK);
    expect(cp.calls).toHaveLength(2);
    expect(cp.maxPending).toBe(1);
    expect(box.status().sent).toBe(5);
  });

  it('sends at most MAX_BATCH (1000) heartbeats per request', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 2500));
    expect(cp.last.heartbeats).toHaveLength(1000);
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual(range(1000, 1000));
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual(range(2000, 500));
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ sent: 2500, queued: 0, inFlight: 0 });
  });
});

describe('HeartbeatOutbox: failures and retries', () => {
  it('resends a failed batch with the same Idempotency-Key and the same heartbeats, newer ones after it', async () => {
    const cp = new ManualControlPlane();
    const results: boolean[] = [];
    const box = makeOutbox(cp.send);
    box.onResult((ok) => results.push(ok));

    box.push(hbs(0, 2));
    await cp.last.answer(failed());
    expect(box.status()).toMatchObject({ inFlight: 2, consecutiveFailures: 1, lastError: 'POST /api/v1/heartbeats: ECONNREFUSED connect ECONNREFUSED', lastErrorAt: new Date(T0).toISOString(), nextAttemptInMs: 500 });
    box.push(hbs(2, 1)); // waits for the retry: no second request meanwhile
    await settle();
    expect(cp.calls).toHaveLength(1);

    await jest.advanceTimersByTimeAsync(499);
    expect(cp.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(cp.calls).toHaveLength(2);
    expect(cp.calls[1].key).toBe(cp.calls[0].key);
    expect(ids(cp.calls[1].heartbeats)).toEqual([0, 1]);

    await cp.last.answer(OK);
    expect(cp.calls).toHaveLength(3);
    expect(ids(cp.last.heartbeats)).toEqual([2]);
    expect(cp.last.key).not.toBe(cp.calls[0].key);
    await cp.last.answer(OK);
    expect(results).toEqual([false, true, true]);
    expect(box.status()).toMatchObject({ sent: 3, consecutiveFailures: 0, nextAttemptInMs: 0, lastError: 'POST /api/v1/heartbeats: ECONNREFUSED connect ECONNREFUSED' });
  });

  it('treats a send that rejects as a failure, and retries the same batch', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 1));
    await cp.last.fail(new Error('socket hang up'));
    expect(box.status()).toMatchObject({ lastError: 'socket hang up', consecutiveFailures: 1, inFlight: 1 });
    await jest.advanceTimersByTimeAsync(500);
    expect(cp.calls).toHaveLength(2);
    expect(cp.calls[1].key).toBe(cp.calls[0].key);
  });

  it('treats a send that throws synchronously as a failure, never crashing push()', async () => {
    const keys: string[] = [];
    let throws = true;
    const send: SendBatch = (heartbeats, key) => {
      keys.push(key);
      if (throws) throw new Error('kaboom');
      return Promise.resolve(OK);
    };
    const box = makeOutbox(send);
    expect(() => box.push(hbs(0, 2))).not.toThrow();
    await settle();
    expect(box.status()).toMatchObject({ lastError: 'kaboom', consecutiveFailures: 1, inFlight: 2 });
    throws = false;
    await jest.advanceTimersByTimeAsync(500);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(box.status()).toMatchObject({ sent: 2, inFlight: 0 });
  });

  it('backs off consecutive failures with a growing cap, up to max, and starts over after a success', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send, { random: () => 1 - Number.EPSILON, backoff: { baseMs: 100, maxMs: 1000 } });
    box.push(hbs(0, 1));
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      await cp.last.answer(failed());
      const { nextAttemptInMs, consecutiveFailures } = box.status();
      expect(consecutiveFailures).toBe(i + 1);
      waits.push(nextAttemptInMs);
      await jest.advanceTimersByTimeAsync(nextAttemptInMs);
      expect(cp.calls).toHaveLength(i + 2);
    }
    expect(waits).toEqual([99, 199, 399, 799, 999, 999]);
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ consecutiveFailures: 0, nextAttemptInMs: 0 });
    box.push(hbs(1, 1));
    await cp.last.answer(failed());
    expect(box.status().nextAttemptInMs).toBe(99);
    expect(new Set(cp.calls.slice(0, 7).map((c) => c.key)).size).toBe(1);
  });

  it('asks whether an unreachable control plane is back every second or so, and sends within a second of its return', async () => {
    const cp = new ManualControlPlane();
    let back = false;
    const probes: number[] = [];
    const probe = async () => {
      probes.push(Date.now() - T0);
      return back;
    };
    // The backoff has grown to half a minute: without probing, the next attempt is 30 s away.
    const box = makeOutbox(cp.send, { random: () => 0.5, backoff: { baseMs: 30_000, maxMs: 30_000 }, probe });
    box.push(hbs(0, 5));
    await cp.last.answer(failed());
    expect(box.status().nextAttemptInMs).toBe(15_000);
    await jest.advanceTimersByTimeAsync(3_000);
    // 1 s apart (0.5 to 1.5 s with jitter; here the middle), nothing sent meanwhile.
    expect(probes).toEqual([1000, 2000, 3000]);
    expect(cp.calls).toHaveLength(1);
    back = true;
    await jest.advanceTimersByTimeAsync(1000);
    // Back at 4 s: the batch goes at a random moment within a second (here 0.5 s), not at 15 s.
    await jest.advanceTimersByTimeAsync(500);
    expect(cp.calls).toHaveLength(2);
    expect(cp.last.heartbeats).toHaveLength(5);
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ queued: 0, inFlight: 0, consecutiveFailures: 0 });
  });

  it('does not probe past a control plane that answers with an error or Retry-After: that is its backoff to keep', async () => {
    const cp = new ManualControlPlane();
    let probed = 0;
    const box = makeOutbox(cp.send, { random: () => 0.5, backoff: { baseMs: 10_000, maxMs: 10_000 }, probe: async () => (++probed, true) });
    box.push(hbs(0, 1));
    await cp.last.answer({ kind: 'failed', status: 500, message: 'HTTP 500: boom' });
    await jest.advanceTimersByTimeAsync(4_999);
    expect(cp.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(cp.calls).toHaveLength(2);
    await cp.last.answer({ kind: 'throttled', status: 503, message: 'redis down', retryAfterMs: 5_000 });
    await jest.advanceTimersByTimeAsync(4_999);
    expect(cp.calls).toHaveLength(2);
    expect(probed).toBe(0);
  });

  it('never retries sooner than a tenth of the base delay', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send, { random: () => 0 });
    box.push(hbs(0, 1));
    await cp.last.answer(failed());
    expect(box.status().nextAttemptInMs).toBe(100);
  });

  it('waits as long as a throttled answer’s Retry-After says', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 1));
    await cp.last.answer({ kind: 'throttled', status: 429, message: 'slow down', retryAfterMs: 7000 });
    expect(box.status()).toMatchObject({ nextAttemptInMs: 7000, lastError: '429: slow down', consecutiveFailures: 1 });
    await jest.advanceTimersByTimeAsync(2000);
    expect(box.status().nextAttemptInMs).toBe(5000);
    await jest.advanceTimersByTimeAsync(4999);
    expect(cp.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(cp.calls).toHaveLength(2);
    expect(cp.calls[1].key).toBe(cp.calls[0].key);
  });

  it('backs off a throttled answer without Retry-After, or with Retry-After 0, rather than spinning', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 1));
    await cp.last.answer({ kind: 'throttled', status: 503, message: 'draining' });
    expect(box.status()).toMatchObject({ nextAttemptInMs: 500, lastError: '503: draining', consecutiveFailures: 1 });
    await jest.advanceTimersByTimeAsync(500);
    expect(cp.calls).toHaveLength(2);
    await cp.last.answer({ kind: 'throttled', status: 429, message: 'slow down', retryAfterMs: 0 });
    expect(cp.calls).toHaveLength(2);
    expect(box.status()).toMatchObject({ consecutiveFailures: 2, nextAttemptInMs: 1000 });
  });

  it('asks again only every UNAUTHORIZED_RETRY_MS while the key is refused, logging it once', async () => {
    const cp = new ManualControlPlane();
    const log = recordingLogger();
    const box = makeOutbox(cp.send, { log });
    box.push(hbs(0, 1));
    await cp.last.answer({ kind: 'unauthorized', status: 401, message: 'invalid API key' });
    expect(UNAUTHORIZED_RETRY_MS).toBe(60_000);
    expect(box.status()).toMatchObject({ nextAttemptInMs: UNAUTHORIZED_RETRY_MS, lastError: '401: invalid API key', inFlight: 1 });
    await jest.advanceTimersByTimeAsync(UNAUTHORIZED_RETRY_MS - 1);
    expect(cp.calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(cp.calls).toHaveLength(2);
    expect(cp.calls[1].key).toBe(cp.calls[0].key);
    await cp.last.answer({ kind: 'unauthorized', status: 403, message: 'needs the agent role' });
    expect(box.status().nextAttemptInMs).toBe(UNAUTHORIZED_RETRY_MS); // not growing: an operator fixes the key
    expect(log.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(UNAUTHORIZED_RETRY_MS);
    await cp.last.answer(OK);
    expect(log.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['control plane reachable again']);
    expect(box.status()).toMatchObject({ sent: 1, consecutiveFailures: 0, nextAttemptInMs: 0 });
  });
});

describe('HeartbeatOutbox: rejected batches', () => {
  it('drops a batch the control plane rejects (400), counts it, and goes on without waiting', async () => {
    const cp = new ManualControlPlane();
    const log = recordingLogger();
    const results: boolean[] = [];
    const box = makeOutbox(cp.send, { log });
    box.onResult((ok) => results.push(ok));
    box.push(hbs(0, 3));
    box.push(hbs(3, 1));
    await cp.last.answer({ kind: 'rejected', status: 400, message: 'heartbeats[0].service is required' });
    expect(box.status()).toMatchObject({ rejected: 3, dropped: 0, sent: 0, consecutiveFailures: 0, nextAttemptInMs: 0, lastError: 'rejected (400): heartbeats[0].service is required' });
    expect(results).toEqual([false]);
    expect(log.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(cp.calls).toHaveLength(2);
    expect(ids(cp.last.heartbeats)).toEqual([3]);
    expect(cp.last.key).not.toBe(cp.calls[0].key);
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ rejected: 3, sent: 1, inFlight: 0, queued: 0 });
  });

  it('halves the batch on 413 and resends everything, in order; a single heartbeat that is still too large is dropped', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    const tooLarge: Outcome = { kind: 'rejected', status: 413, message: 'payload too large' };
    box.push(hbs(0, 8));
    await cp.last.answer(tooLarge);
    expect(ids(cp.last.heartbeats)).toEqual([0, 1, 2, 3]);
    await cp.last.answer(tooLarge);
    expect(ids(cp.last.heartbeats)).toEqual([0, 1]);
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual([2, 3]);
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual([4, 5]); // the smaller size stays
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual([6, 7]);
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ sent: 8, rejected: 0, consecutiveFailures: 0, queued: 0, inFlight: 0 });

    const small = makeOutbox(cp.send);
    small.push(hbs(100, 3));
    await cp.last.answer(tooLarge);
    expect(ids(cp.last.heartbeats)).toEqual([100]);
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual([101]);
    await cp.last.answer(tooLarge);
    expect(ids(cp.last.heartbeats)).toEqual([102]);
    await cp.last.answer(OK);
    expect(small.status()).toMatchObject({ sent: 2, rejected: 1, queued: 0, inFlight: 0 });
  });
});

describe('HeartbeatOutbox: a full queue', () => {
  it('drops the oldest queued heartbeats first and counts them, never the batch in flight', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send, { maxEntries: 5 });
    box.push(hbs(0, 3)); // in flight
    box.push(hbs(3, 4)); // 7 > 5: drops 3 and 4
    expect(box.status()).toMatchObject({ queued: 2, inFlight: 3, dropped: 2 });
    box.push(hbs(7, 1)); // drops 5
    expect(box.status()).toMatchObject({ queued: 2, inFlight: 3, dropped: 3 });
    await cp.last.answer(failed()); // the batch in flight stays through failures
    box.push(hbs(8, 2)); // drops 6 and 7
    expect(box.status()).toMatchObject({ queued: 2, inFlight: 3, dropped: 5 });
    await jest.advanceTimersByTimeAsync(500);
    expect(ids(cp.last.heartbeats)).toEqual([0, 1, 2]);
    await cp.last.answer(OK);
    expect(ids(cp.last.heartbeats)).toEqual([8, 9]);
    await cp.last.answer(OK);
    expect(box.status()).toMatchObject({ sent: 5, dropped: 5 });
  });

  it('drops from one large push, keeping its newest', () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send, { maxEntries: 3 });
    box.push(hbs(0, 5));
    expect(ids(cp.last.heartbeats)).toEqual([2, 3, 4]);
    expect(box.status().dropped).toBe(2);
  });

  it('warns on the first drop and then once per thousand', () => {
    const cp = new ManualControlPlane();
    const log = recordingLogger();
    const box = makeOutbox(cp.send, { maxEntries: 1, log });
    box.push(hbs(0, 1)); // in flight, never answered
    for (let i = 1; i <= 2500; i++) box.push(hbs(i, 1));
    expect(box.status()).toMatchObject({ dropped: 2500, inFlight: 1, queued: 0 });
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(3); // at 1, 1000 and 2000
  });
});

describe('HeartbeatOutbox: flush', () => {
  it('sends everything queued at once, ignoring backoff, and resolves with 0', async () => {
    const cp = new ScriptedControlPlane([{ kind: 'failed' }]);
    const box = makeOutbox(cp.send, { random: () => 1 - Number.EPSILON, backoff: { baseMs: 30_000, maxMs: 30_000 } });
    box.push(hbs(0, 1500));
    await settle();
    expect(box.status().nextAttemptInMs).toBe(29_999);
    box.push(hbs(1500, 1000));
    const left = await box.flush(Date.now() + 10_000);
    expect(left).toBe(0);
    expect(cp.calls.map((c) => c.ids.length)).toEqual([1000, 1000, 1000, 500]);
    expect(cp.calls[1].key).toBe(cp.calls[0].key);
    expect(ids(cp.stored)).toEqual(range(0, 2500));
    expect(Date.now()).toBe(T0); // no waiting
  });

  it('returns what is left when the deadline comes first, pausing between failed attempts', async () => {
    const cp = new ScriptedControlPlane(Array.from({ length: 100 }, (): Step => ({ kind: 'failed' })));
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 3));
    await settle();
    const left = box.flush(Date.now() + 1200);
    await jest.advanceTimersByTimeAsync(5000);
    expect(await left).toBe(3);
    // At 0 (the push), then flush at once and after 500 ms pauses until the deadline.
    expect(cp.calls.length).toBeGreaterThanOrEqual(3);
    expect(cp.calls.length).toBeLessThanOrEqual(5);
    expect(new Set(cp.calls.map((c) => c.key)).size).toBe(1);
  });

  it('waits for the request in flight instead of sending a second one', async () => {
    const cp = new ManualControlPlane();
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 2));
    box.push(hbs(2, 2));
    let left: number | undefined;
    void box.flush(Date.now() + 10_000).then((n) => {
      left = n;
    });
    await settle();
    expect(cp.calls).toHaveLength(1);
    await cp.last.answer(OK);
    expect(cp.calls).toHaveLength(2);
    expect(ids(cp.last.heartbeats)).toEqual([2, 3]);
    expect(left).toBeUndefined();
    await cp.last.answer(OK);
    expect(left).toBe(0);
    expect(cp.maxPending).toBe(1);
  });

  it('resolves with 0 at once when nothing is queued', async () => {
    const box = makeOutbox(new ScriptedControlPlane().send);
    await expect(box.flush(Date.now() + 1000)).resolves.toBe(0);
  });
});

describe('HeartbeatOutbox: listeners and closing', () => {
  it('tells every onResult listener true after a success and false after a failure', async () => {
    const cp = new ScriptedControlPlane([{ kind: 'failed' }, { kind: 'unauthorized' }, { kind: 'rejected', status: 400 }, { kind: 'throttled', retryAfterMs: 10 }]);
    const box = makeOutbox(cp.send);
    const a: boolean[] = [];
    const b: boolean[] = [];
    box.onResult((ok) => a.push(ok));
    box.onResult((ok) => b.push(ok));
    box.push(hbs(0, 1));
    await jest.advanceTimersByTimeAsync(UNAUTHORIZED_RETRY_MS + 1000);
    box.push(hbs(1, 1));
    await jest.advanceTimersByTimeAsync(1000);
    expect(a).toEqual([false, false, false, false, true]);
    expect(b).toEqual(a);
  });

  it('sends nothing more after close()', async () => {
    const cp = new ScriptedControlPlane([{ kind: 'failed' }]);
    const box = makeOutbox(cp.send);
    box.push(hbs(0, 1));
    await settle();
    box.close();
    box.push(hbs(1, 1));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(cp.calls).toHaveLength(1);
    expect(box.size).toBe(2);
  });
});

type Action = { kind: 'push'; n: number } | { kind: 'wait'; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.integer({ min: 1, max: 25 }).map((n): Action => ({ kind: 'push', n })),
  fc.integer({ min: 0, max: 70_000 }).map((ms): Action => ({ kind: 'wait', ms })),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'ok' }),
  fc.constant<Step>({ kind: 'lost' }),
  fc.constant<Step>({ kind: 'failed' }),
  fc.constant<Step>({ kind: 'throw' }),
  fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }).map((retryAfterMs): Step => ({ kind: 'throttled', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) })),
  fc.constant<Step>({ kind: 'unauthorized' }),
  fc.constantFrom<400 | 413>(400, 413).map((status): Step => ({ kind: 'rejected', status })),
);

describe('HeartbeatOutbox: property', () => {
  it('stores every pushed heartbeat exactly once, in push order, except those dropped or rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { maxLength: 25 }),
        fc.array(step, { maxLength: 25 }),
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (actions, script, maxEntries, r) => {
          jest.clearAllTimers();
          const cp = new ScriptedControlPlane([...script]);
          const box = makeOutbox(cp.send, { maxEntries, random: () => r, backoff: { baseMs: 100, maxMs: 5000 } });
          let pushed = 0;
          for (const a of actions) {
            if (a.kind === 'push') {
              box.push(hbs(pushed, a.n));
              pushed += a.n;
            } else await jest.advanceTimersByTimeAsync(a.ms);
          }
          // The script runs out, then every answer is ok: everything left goes out.
          for (let i = 0; i < 1000 && (box.size > 0 || cp.inFlight > 0); i++) await jest.advanceTimersByTimeAsync(UNAUTHORIZED_RETRY_MS);

          const status = box.status();
          expect(status).toMatchObject({ queued: 0, inFlight: 0, rejected: cp.rejected.length });
          expect(cp.maxInFlight).toBeLessThanOrEqual(1);

          const stored = ids(cp.stored);
          const rejected = new Set(ids(cp.rejected));
          // In push order, each once.
          for (let i = 1; i < stored.length; i++) expect(stored[i]).toBeGreaterThan(stored[i - 1]);
          expect(stored.filter((id) => rejected.has(id))).toEqual([]);
          // Everything pushed is stored, rejected, or counted as dropped.
          const missing = range(0, pushed).filter((id) => !rejected.has(id) && !stored.includes(id));
          expect(missing.length).toBe(status.dropped);
          expect(stored.length + rejected.size + status.dropped).toBe(pushed);

          // A batch that failed is sent again, same key, same heartbeats.
          cp.calls.forEach((c, i) => {
            if (c.step === 'ok' || c.step === 'rejected') return;
            expect(cp.calls[i + 1]).toEqual(expect.objectContaining({ key: c.key, ids: c.ids }));
          });
          box.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
