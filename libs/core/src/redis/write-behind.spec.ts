import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { WriteBehind } from './write-behind.js';

/** A write the test finishes by hand. */
interface Gate {
  items: string[];
  resolve: () => void;
  reject: (err: Error) => void;
}

function gated(itemsPerWrite: number, maxWeight = 10) {
  const writes: Gate[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const wb = new WriteBehind<string>({
    itemsPerWrite,
    maxWeight,
    write: (items) =>
      new Promise<void>((resolve, reject) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const done = () => concurrent--;
        writes.push({ items, resolve: () => (done(), resolve()), reject: (e) => (done(), reject(e)) });
      }),
  });
  return { wb, writes, maxConcurrent: () => maxConcurrent };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WriteBehind', () => {
  it('writes items in the order they were queued, one write at a time, holding their entries until written', async () => {
    const { wb, writes, maxConcurrent } = gated(1);
    wb.push(['1-0'], 'a', 1);
    wb.push(['2-0', '3-0'], 'b', 2);
    expect(writes.map((w) => w.items)).toEqual([['a']]);
    expect(wb.holds('1-0') && wb.holds('3-0')).toBe(true);
    expect(wb.queuedWeight).toBe(3);

    writes[0].resolve();
    await tick();
    expect(wb.holds('1-0')).toBe(false);
    expect(wb.holds('2-0')).toBe(true);
    expect(writes.map((w) => w.items)).toEqual([['a'], ['b']]);
    writes[1].resolve();
    await wb.settled();
    expect(wb.queuedWeight).toBe(0);
    expect(wb.holds('3-0')).toBe(false);
    expect(maxConcurrent()).toBe(1);
    expect(wb.takeFailure()).toBeNull();
  });

  it('lets a writer that fell behind take what waits in one write', async () => {
    const { wb, writes } = gated(Number.POSITIVE_INFINITY);
    wb.push(['1-0'], 'a', 1);
    wb.push(['2-0'], 'b', 1);
    wb.push(['3-0'], 'c', 1);
    writes[0].resolve();
    await tick();
    expect(writes.map((w) => w.items)).toEqual([['a'], ['b', 'c']]);
    writes[1].resolve();
    await wb.settled();
  });

  it('makes room() wait while more than maxWeight is queued, and resolve once the writer caught up', async () => {
    const { wb, writes } = gated(1, 10);
    wb.push(['1-0'], 'a', 8);
    wb.push(['2-0'], 'b', 8);
    let roomy = false;
    const room = wb.room().then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    writes[0].resolve(); // 8 left: room
    await room;
    expect(wb.queuedWeight).toBe(8);
    await expect(wb.room()).resolves.toBeUndefined(); // at most maxWeight: at once
    writes[1].resolve();
    await wb.settled();
  });

  it('waits until() a condition holds after a write, or the writer stopped', async () => {
    const { wb, writes } = gated(1, 100);
    wb.push(['1-0', '2-0'], 'a', 1);
    wb.push(['3-0'], 'b', 1);
    let done = false;
    const waited = wb.until(() => wb.heldCount <= 1).then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    writes[0].resolve();
    await waited;
    expect(wb.heldCount).toBe(1);
    const never = wb.until(() => false);
    writes[1].resolve();
    await never; // the writer stopped, idle: no waiting forever
    await wb.settled();
  });

  it('makes room() resolve once a single item heavier than maxWeight is written', async () => {
    const { wb, writes } = gated(1, 10);
    wb.push(['1-0'], 'huge', 25);
    const room = wb.room();
    writes[0].resolve();
    await room;
    expect(wb.queuedWeight).toBe(0);
  });

  it('abandon() lets go of what is queued; the write under way finishes and settles', async () => {
    const { wb, writes } = gated(1, 100);
    wb.push(['1-0'], 'a', 3);
    wb.push(['2-0'], 'b', 4);
    wb.push(['3-0'], 'c', 5);
    wb.abandon();
    expect(wb.holds('1-0')).toBe(true); // being written
    expect(wb.holds('2-0') || wb.holds('3-0')).toBe(false);
    expect(wb.queuedWeight).toBe(3);
    writes[0].resolve();
    await wb.settled();
    expect(writes.map((w) => w.items)).toEqual([['a']]);
    expect(wb.heldCount).toBe(0);
    expect(wb.queuedWeight).toBe(0);
    expect(wb.takeFailure()).toBeNull();
  });

  it('on a failed write drops everything queued, reports the error once, and starts afresh on the next push', async () => {
    const { wb, writes } = gated(1, 1);
    wb.push(['1-0'], 'a', 1);
    wb.push(['2-0'], 'b', 1);
    const room = wb.room();
    writes[0].reject(new Error('postgres down'));
    await room; // a stopped writer makes room at once: the read goes on, consume retries what is pending
    await wb.settled();
    expect(writes).toHaveLength(1); // b was dropped with a, not written after it
    expect(wb.holds('1-0') || wb.holds('2-0')).toBe(false);
    expect(wb.queuedWeight).toBe(0);
    expect((wb.takeFailure() as Error).message).toBe('postgres down');
    expect(wb.takeFailure()).toBeNull();

    wb.push(['1-0'], 'a', 1);
    expect(writes.map((w) => w.items)).toEqual([['a'], ['a']]);
    writes[1].resolve();
    await wb.settled();
    expect(wb.takeFailure()).toBeNull();
  });

  it('writes every item exactly once and in order, or drops it with a failure that is reported (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ weight: fc.integer({ min: 0, max: 5 }), fails: fc.boolean(), waitRoom: fc.boolean() }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (steps, itemsPerWrite) => {
          const written: number[] = [];
          let failures = 0;
          const failing = new Set(steps.flatMap((s, i) => (s.fails ? [i] : [])));
          const wb = new WriteBehind<number>({
            itemsPerWrite,
            maxWeight: 6,
            write: async (items) => {
              await tick();
              if (items.some((i) => failing.has(i))) {
                failures++;
                throw new Error(`item ${items.find((i) => failing.has(i))}`);
              }
              written.push(...items);
            },
          });
          let reported = 0;
          for (const [i, s] of steps.entries()) {
            wb.push([`${i}-0`], i, s.weight);
            if (s.waitRoom) await wb.room();
            if (wb.takeFailure() !== null) reported++;
          }
          await wb.settled();
          if (wb.takeFailure() !== null) reported++;
          expect(reported).toBe(failures);
          expect(new Set(written).size).toBe(written.length);
          expect([...written].sort((a, b) => a - b)).toEqual(written);
          for (const i of written) expect(failing.has(i)).toBe(false);
          for (const i of steps.keys()) expect(wb.holds(`${i}-0`)).toBe(false);
          expect(wb.queuedWeight).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
