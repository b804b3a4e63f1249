import { DomainError, ErrorCode } from '../errors/domain-error.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a `?cursor=` (the `nextCursor` of a previous page): 400 when it is not one. */
export function checkCursor(cursor: string | undefined, shape: RegExp = UUID): void {
  if (cursor !== undefined && !shape.test(cursor)) throw new DomainError(ErrorCode.Invalid, ['cursor must be the nextCursor of a previous page']);
}

/** Prisma's clause for a list paged by row id after {@link checkCursor}: start after the cursor row. */
export function afterId(cursor: string | undefined): { cursor: { id: string }; skip: number } | Record<string, never> {
  checkCursor(cursor);
  return cursor ? { cursor: { id: cursor }, skip: 1 } : {};
}

/** A page from rows fetched with `take: limit + 1`: the first `limit`, and the cursor of the next page when there is one. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => string): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items, nextCursor: more ? cursorOf(items[items.length - 1]) : null };
}
