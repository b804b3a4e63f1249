import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AuditService } from '../audit/audit.service.js';
import { InjectConfig } from '../config/config.module.js';
import type { NinefoldConfig } from '../config/env.schema.js';
import { Prisma } from '../database/generated/client.js';
import { PrismaService } from '../database/prisma.service.js';
import { DependencyUnavailableError, DomainError, ErrorCode } from '../errors/domain-error.js';
import { RedisService } from '../redis/redis.service.js';
import { bearerToken, displayPrefix, generateApiKey, hashApiKey } from './api-key.js';
import { ACCESS, type Access, allows, type Principal, type Role } from './roles.js';
import { TtlCache } from './ttl-cache.js';
import { afterId, pageOf } from '../database/pagination.js';

/** An API key as listed: never the secret, never its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The plain key: returned this once, stored nowhere. */
  key: string;
}

/** Unknown keys are remembered briefly too, so a flood of bad keys does not reach Postgres. */
const NEGATIVE_TTL_MS = 5000;
const MAX_CACHED = 10_000;


const viewSelect = { id: true, name: true, role: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true } as const;

/**
 * API keys: creation, listing, revocation and verification.
 *
 * Verification is on every request's path, so verified keys are kept in memory
 * for KEY_CACHE_TTL_SECONDS. Revocation is published on Redis; every replica
 * drops the key from its cache at once, and drops its whole cache whenever its
 * subscription was interrupted (it may have missed a revocation meanwhile).
 * Last-used times are gathered in memory and written in one statement every
 * KEY_LAST_USED_FLUSH_SECONDS.
 */
@Injectable()
export class ApiKeysService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly cache: TtlCache<string, Principal | null>;
  /** Key id → last use (epoch ms), written out every KEY_LAST_USED_FLUSH_SECONDS. */
  private readonly lastUsed = new Map<string, number>();
  private subscriber?: Redis;
  private flushTimer?: NodeJS.Timeout;
  private readonly channel: string;

  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.cache = new TtlCache(MAX_CACHED);
    this.channel = redis.key('keys', 'revoked');
  }

  onApplicationBootstrap(): void {
    this.subscriber = this.redis.connect('key-revocations', { maxRetriesPerRequest: null });
    let interrupted = false;
    this.subscriber.on('close', () => {
      interrupted = true;
    });
    this.subscriber.on('ready', () => {
      if (interrupted) this.cache.clear();
      interrupted = false;
    });
    this.subscriber.on('message', (_channel: string, keyId: string) => {
      this.cache.deleteWhere((p) => p?.keyId === keyId);
    });
    // Not awaited: while Redis is down at boot the api must still start (and answer 503
    // where Redis is needed); ioredis subscribes once Redis is reachable.
    void this.subscriber.subscribe(this.channel).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'could not subscribe to key revocations');
    });
    this.flushTimer = setInterval(() => void this.flushLastUsed(), this.config.KEY_LAST_USED_FLUSH_SECONDS * 1000);
    this.flushTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  /**
   * Creates the first admin key when the database holds no key at all
   * (from NINEFOLD_ADMIN_KEY, or a random one). Returns the plain key when it
   * created a random one, so the caller can show it once. Safe when replicas
   * start together: a transaction-scoped advisory lock lets one of them do it.
   */
  async bootstrapAdminKey(): Promise<{ created: boolean; key?: string; fromEnv: boolean }> {
    const fromEnv = this.config.NINEFOLD_ADMIN_KEY;
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7362001914)`;
      if ((await tx.apiKey.count()) > 0) return { created: false, fromEnv: !!fromEnv };
      const key = fromEnv ?? generateApiKey();
      const row = await tx.apiKey.create({
        data: { name: 'bootstrap-admin', role: 'admin', hash: hashApiKey(key), prefix: displayPrefix(key) },
      });
      await this.audit.record({ actorKeyId: null, action: 'key.create', targetType: 'api_key', targetId: row.id, details: { name: row.name, role: row.role, bootstrap: true } }, tx);
      return { created: true, key: fromEnv ? undefined : key, fromEnv: !!fromEnv };
    });
  }

  async create(name: string, role: Role, actor: Principal | null, requestId?: string): Promise<CreatedApiKey> {
    const key = generateApiKey();
    const row = await this.prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: { name, role, hash: hashApiKey(key), prefix: displayPrefix(key), createdBy: actor?.keyId },
        select: viewSelect,
      });
      await this.audit.record({ actorKeyId: actor?.keyId ?? null, action: 'key.create', targetType: 'api_key', targetId: created.id, requestId, details: { name, role } }, tx);
      return created;
    });
    return { ...row, key };
  }

  /** Keys newest first; `cursor` is the id of the last key of the previous page. */
  async list(limit: number, cursor?: string): Promise<{ items: ApiKeyView[]; nextCursor: string | null }> {
    const rows = await this.prisma.apiKey.findMany({ select: viewSelect, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit + 1, ...afterId(cursor) });
    return pageOf(rows, limit, (r) => r.id);
  }

  /**
   * Revokes a key at once on every replica. Revoking an already revoked key
   * succeeds (idempotent); revoking the last active admin key is refused, so an
   * installation cannot lock itself out.
   */
  async revoke(id: string, actor: Principal, requestId?: string): Promise<ApiKeyView> {
    const revoked = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(7362001915)`;
      const key = await tx.apiKey.findUnique({ where: { id }, select: viewSelect });
      if (!key) throw new DomainError(ErrorCode.NotFound, `no API key with id ${id}`);
      if (key.revokedAt) return key;
      if (key.role === 'admin') {
        const admins = await tx.apiKey.count({ where: { role: 'admin', revokedAt: null } });
        if (admins <= 1) throw new DomainError(ErrorCode.Conflict, 'this is the last active admin key; create another admin key before revoking it');
      }
      const updated = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() }, select: viewSelect });
      await this.audit.record({ actorKeyId: actor.keyId, action: 'key.revoke', targetType: 'api_key', targetId: id, requestId, details: { name: key.name, role: key.role } }, tx);
      return updated;
    });
    this.cache.deleteWhere((p) => p?.keyId === id);
    await this.redis.client.publish(this.channel, id).catch((err: Error) => {
      // Other replicas still drop it within KEY_CACHE_TTL_SECONDS, or at once when their subscription reconnects.
      this.logger.error({ keyId: id, err: err.message }, 'could not publish a key revocation');
    });
    return revoked;
  }

  /**
   * Who is calling, from an `Authorization: Bearer <key>` header (or a bare
   * key), and whether `need` allows their role: 401 without a known key,
   * 403 with a key whose role may not do this. The one place every transport (the
   * guard, the heartbeat ingress, the WebSocket handshake) authenticates.
   */
  async authenticate(authorization: string | string[] | undefined, need: Access): Promise<Principal> {
    return this.authenticateCached(authorization, need) ?? this.authorize(await this.lookup(bearerToken(authorization) as string), need);
  }

  /**
   * {@link authenticate} without a promise when the key is in the cache (the
   * heartbeat route's common case); undefined when it is not, and the caller
   * must use {@link authenticate}. Throws as authenticate does.
   */
  authenticateCached(authorization: string | string[] | undefined, need: Access): Principal | undefined {
    // The common case first: `Bearer <key>` with a key seen before, one map lookup and no regex. Keys are
    // cached as bearerToken returned them (no whitespace), so a hit is a header bearerToken accepts too.
    if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
      const hit = this.cache.get(authorization.slice(7));
      if (hit !== undefined) return this.authorize(this.used(hit), need);
    }
    const token = bearerToken(authorization);
    if (!token) throw new DomainError(ErrorCode.Unauthenticated, 'missing API key: send Authorization: Bearer <key>');
    const principal = this.cache.get(token);
    return principal === undefined ? undefined : this.authorize(this.used(principal), need);
  }

  /** 401 for no (or a revoked) key, 403 when `need` does not allow its role; else the principal. */
  authorize(principal: Principal | null | undefined, need: Access): Principal {
    if (!principal) throw new DomainError(ErrorCode.Unauthenticated, 'unknown or revoked API key');
    if (!allows(need, principal.role)) {
      throw new DomainError(ErrorCode.Forbidden, `only ${rolesText(ACCESS[need])} keys may do this; the key "${principal.name}" has the ${principal.role} role`);
    }
    return principal;
  }

  /**
   * A key not in the cache, from the database (by its hash), then cached by
   * the key as sent: a later hit costs one map lookup, no hashing (the
   * heartbeat route verifies a key tens of thousands of times a second).
   */
  private async lookup(plain: string): Promise<Principal | null> {
    const hash = hashApiKey(plain);
    let row;
    try {
      row = await this.prisma.apiKey.findUnique({ where: { hash }, select: { id: true, name: true, role: true, revokedAt: true } });
    } catch (err) {
      throw new DependencyUnavailableError('postgres', err);
    }
    const principal = row && !row.revokedAt ? { keyId: row.id, name: row.name, role: row.role } : null;
    this.cache.set(plain, principal, principal ? this.config.KEY_CACHE_TTL_SECONDS * 1000 : NEGATIVE_TTL_MS);
    return this.used(principal);
  }

  /** Notes the use of a key (written in batches by {@link flushLastUsed}). */
  private used(principal: Principal | null): Principal | null {
    if (principal) this.lastUsed.set(principal.keyId, Date.now());
    return principal;
  }

  /** Writes the gathered last-used times in one statement. */
  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = [...this.lastUsed.entries()];
    this.lastUsed.clear();
    const values = Prisma.join(batch.map(([id, at]) => Prisma.sql`(${id}::uuid, ${new Date(at)}::timestamptz)`));
    try {
      await this.prisma.$executeRaw`
        UPDATE api_keys AS k SET last_used_at = v.at
        FROM (VALUES ${values}) AS v(id, at)
        WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`;
    } catch (err) {
      // Keep them for the next flush unless newer uses arrived meanwhile.
      for (const [id, at] of batch) if (!this.lastUsed.has(id)) this.lastUsed.set(id, at);
      this.logger.warn({ err: (err as Error).message, keys: batch.length }, 'could not record API key last-used times; will retry');
    }
  }
}

/** `agent or admin`, `viewer, operator or admin`. */
function rolesText(roles: readonly Role[]): string {
  return roles.length === 1 ? roles[0] : `${roles.slice(0, -1).join(', ')} or ${roles[roles.length - 1]}`;
}
