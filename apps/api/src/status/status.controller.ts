import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { StatusPageService } from '#registry';
import { PublicAccess } from '../common/access.decorator.js';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { StatusDto } from './status.dto.js';

@ApiTags('status')
@PublicAccess()
@Controller('api/v1/status')
export class StatusController {
  constructor(private readonly statusPage: StatusPageService) {}

  @Get()
  // Shared caches (a CDN in front of the status page) may keep it as long as the api does.
  @Header('cache-control', 'public, max-age=10')
  @ApiOperation({
    summary: 'The public status page: overall state, and per public service its state and 90 days of daily availability (no key needed)',
    description: 'Computed at most once every 10 seconds per api replica, however many visitors reload it; while Postgres is unavailable, the last answer is served (see updatedAt). Live updates: socket.io namespace `/status` at path `/ws`, event `service.state` `{ name, state, since, at }`.',
  })
  @ApiOkResponse({ type: StatusDto })
  @ApiServiceUnavailableResponse({ type: ApiErrorDto, description: 'Postgres is unavailable and this replica has no earlier answer to serve; retry after Retry-After seconds.' })
  status(): Promise<StatusDto> {
    return this.statusPage.status();
  }
}
