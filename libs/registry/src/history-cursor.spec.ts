import { DomainError } from '#core';
import { decodeHistoryCursor, encodeHistoryCursor } from './history-cursor.js';

describe('history cursor', () => {
  it('round-trips a position', () => {
    const p = { at: new Date('2026-03-01T12:34:56.789Z'), kind: 'instance' as const, id: 9_007_199_254_740_993n };
    const cursor = encodeHistoryCursor(p);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeHistoryCursor(cursor)).toEqual(p);
  });

  it.each([
    ['not base64url', 'abc$'],
    ['not JSON', Buffer.from('{nope').toString('base64url')],
    ['a uuid (another list\'s cursor)', '6f1c2a8e-6b43-4c39-9b4a-3f0e2d9e7c11'],
    ['a bad kind', Buffer.from(JSON.stringify(['2026-03-01T00:00:00.000Z', 'cluster', '1'])).toString('base64url')],
    ['a bad time', Buffer.from(JSON.stringify(['yesterday', 'service', '1'])).toString('base64url')],
    ['a bad id', Buffer.from(JSON.stringify(['2026-03-01T00:00:00.000Z', 'service', '-1'])).toString('base64url')],
    ['an id beyond bigint', Buffer.from(JSON.stringify(['2026-03-01T00:00:00.000Z', 'service', '9999999999999999999'])).toString('base64url')],
  ])('rejects %s with a 400 naming cursor', (_what, cursor) => {
    expect(() => decodeHistoryCursor(cursor)).toThrow(DomainError);
    try {
      decodeHistoryCursor(cursor);
    } catch (err) {
      expect((err as DomainError).details).toEqual(['cursor must be the nextCursor of a previous page']);
    }
  });
});
