import { DomainError, ErrorCode } from '#core';
import { NAME_PATTERN } from '#registry';

/** A name from the path (service, instance, policy); anything else is a 400 naming the parameter. */
export function checkName(value: string, what: string): string {
  if (!NAME_PATTERN.test(value)) throw new DomainError(ErrorCode.Invalid, [`${what} must match ${NAME_PATTERN.source}`]);
  return value;
}
