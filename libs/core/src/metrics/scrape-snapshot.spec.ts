import { scrapeSnapshot } from './scrape-snapshot.js';

describe('scrapeSnapshot', () => {
  it('reads once for the gauges of one scrape, and again once the time is up', async () => {
    let t = 0;
    let reads = 0;
    const rows = scrapeSnapshot(1000, async () => ++reads, () => t);
    expect(await Promise.all([rows(), rows(), rows()])).toEqual([1, 1, 1]);
    t = 1000;
    expect(await rows()).toBe(1);
    t = 1001;
    expect(await rows()).toBe(2);
    expect(reads).toBe(2);
  });
});
