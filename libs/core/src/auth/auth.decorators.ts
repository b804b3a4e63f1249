import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Principal, Role } from './roles.js';

export const REQUIRED_ROLE = 'ninefold:requiredRole';
export const PUBLIC_ROUTE = 'ninefold:public';

/** The least role that may call this route (roles include the ones below them). */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);

/** No API key needed (operations endpoints, the public status page). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The request's {@link Principal}, set by the auth guard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<{ principal: Principal }>().principal;
});
