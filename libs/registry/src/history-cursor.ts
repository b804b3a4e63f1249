import { DomainError, ErrorCode } from '#core';
import type { HistoryPosition } from './state-history.repository.js';

const INVALID = 'cursor must be the nextCursor of a previous page';

/** The opaque `nextCursor` of a history page: base64url of JSON `[at, kind, id]`. */
export function encodeHistoryCursor(p: HistoryPosition): string {
  return Buffer.from(JSON.stringify([p.at.toISOString(), p.kind, p.id.toString()])).toString('base64url');
}

/** The position a history `?cursor=` stands for; 400 naming `cursor` when it is not one this API gave out. */
export function decodeHistoryCursor(cursor: string): HistoryPosition {
  let value: unknown;
  try {
    value = /^[A-Za-z0-9_-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) throw new DomainError(ErrorCode.Invalid, [INVALID]);
  const [at, kind, id] = value as unknown[];
  const ms = typeof at === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at) ? Date.parse(at) : NaN;
  if (Number.isNaN(ms) || (kind !== 'service' && kind !== 'instance') || typeof id !== 'string' || !/^\d{1,19}$/.test(id) || BigInt(id) > 9_223_372_036_854_775_807n) {
    throw new DomainError(ErrorCode.Invalid, [INVALID]);
  }
  return { at: new Date(ms), kind, id: BigInt(id) };
}
