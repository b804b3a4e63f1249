import { Param, ParseUUIDPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from '#core';

/** The `:id` route parameter, a UUID; anything else is a 400 naming it. */
export const IdParam = () => Param('id', new ParseUUIDPipe({ exceptionFactory: () => new DomainError(ErrorCode.Invalid, ['id must be a UUID']) }));
