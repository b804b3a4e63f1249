import { applyDecorators } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ACCESS, type Access as AccessLevel, Public, RequireAccess } from '#core';

/**
 * The roles that may call this operation: the guard enforces it, and the
 * OpenAPI document states it as `x-ninefold-roles` (and in the operation's
 * description, see openapi.ts), so the rule is written once.
 */
export const Access = (access: AccessLevel) =>
  applyDecorators(RequireAccess(access), ApiExtension('x-ninefold-access', access), ApiExtension('x-ninefold-roles', [...ACCESS[access]]));

/** No key needed (the public status page): the guard lets anyone through, and the OpenAPI document says `x-ninefold-access: public`. */
export const PublicAccess = () => applyDecorators(Public(), ApiExtension('x-ninefold-access', 'public'), ApiExtension('x-ninefold-roles', []));
