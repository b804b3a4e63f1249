import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DomainError, ErrorCode } from '#core';
import { availabilityOfNines, composeAvailability, ninesRow } from '#registry';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { ComposedDto, ComposeDto, NinesDto, NinesQueryDto } from './availability.dto.js';
import { Access } from '../common/access.decorator.js';

/** Most groups, and members of a group, a composition may have. */
const MAX_GROUPS = 100;

@ApiTags('availability')
@ApiAuthErrors()
@Controller('api/v1/availability')
export class AvailabilityController {
  @Get('nines')
  @Access('read')
  @ApiOperation({ summary: 'Allowed downtime per year, month, week and day of an availability (?percent=99.95) or a count of nines (?nines=3)' })
  @ApiOkResponse({ type: NinesDto })
  nines(@Query() q: NinesQueryDto): NinesDto {
    if ((q.percent === undefined) === (q.nines === undefined)) throw new DomainError(ErrorCode.Invalid, ['give either percent (e.g. 99.95) or nines (e.g. 3), not both and not neither']);
    return ninesRow(q.percent !== undefined ? q.percent / 100 : availabilityOfNines(q.nines!));
  }

  @Post('compose')
  @HttpCode(200)
  @Access('read')
  @ApiOperation({ summary: 'Availability of components in sequence (groups: all needed, multiplied) and in parallel (members of a group: any one will do, 1 − Π(1 − a))' })
  @ApiOkResponse({ type: ComposedDto })
  compose(@Body() body: ComposeDto): ComposedDto {
    return ninesRow(composeAvailability(1, checkGroups(body.groups)));
  }
}

/** The groups, or a 400 naming every bad one. */
function checkGroups(groups: unknown): number[][] {
  if (!Array.isArray(groups) || groups.length === 0 || groups.length > MAX_GROUPS) throw new DomainError(ErrorCode.Invalid, [`groups must be a list of 1 to ${MAX_GROUPS} groups, each a list of availabilities, e.g. [[0.999], [0.99, 0.99]]`]);
  const errors: string[] = [];
  groups.forEach((g, i) => {
    if (!Array.isArray(g) || g.length === 0 || g.length > MAX_GROUPS) {
      errors.push(`groups[${i}] must be a list of 1 to ${MAX_GROUPS} availabilities`);
      return;
    }
    g.forEach((a, j) => {
      if (typeof a !== 'number' || !(a >= 0 && a <= 1)) errors.push(`groups[${i}][${j}] must be a fraction from 0 to 1 (99.9 % is 0.999)`);
    });
  });
  if (errors.length > 0) throw new DomainError(ErrorCode.Invalid, errors);
  return groups as number[][];
}
