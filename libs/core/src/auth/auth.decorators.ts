import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Access, Principal } from './roles.js';

export const REQUIRED_ACCESS = 'ninefold:requiredAccess';
export const PUBLIC_ROUTE = 'ninefold:public';

/**
 * Which roles may call this route or WebSocket message (one of {@link ACCESS}'s
 * levels). The api's `@Access` adds the same statement to the OpenAPI document.
 */
export const RequireAccess = (access: Access) => SetMetadata(REQUIRED_ACCESS, access);

/** No API key needed (operations endpoints, the public status page). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The request's {@link Principal}, set by the auth guard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<{ principal: Principal }>().principal;
});
