import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiKeysService } from './api-keys.service.js';
import { PUBLIC_ROUTE, REQUIRED_ACCESS } from './auth.decorators.js';
import type { Access, Principal } from './roles.js';

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}

/**
 * Global guard: every route needs a valid API key unless marked {@link Public};
 * the key's role must be one its {@link RequireAccess} allows (admin only when
 * a route forgot to say, so a mistake fails closed). 401 without a known key,
 * 403 with a key whose role may not do this. On WebSocket messages the key is the
 * one the socket's handshake carried (checked by the gateway on connection).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const need = this.reflector.getAllAndOverride<Access>(REQUIRED_ACCESS, targets) ?? 'admin';
    if (ctx.getType() === 'ws') {
      const client = ctx.switchToWs().getClient<{ data?: { ready?: Promise<boolean>; principal?: Principal } }>();
      await client.data?.ready;
      this.keys.authorize(client.data?.principal, need);
      return true;
    }
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    req.principal = await this.keys.authenticate(req.headers.authorization, need);
    return true;
  }
}
