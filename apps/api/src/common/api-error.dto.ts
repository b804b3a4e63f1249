import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The shape of every error response. */
export class ApiErrorDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: ['role must be one of the following values: agent, viewer, operator, admin'] })
  message!: string | string[];

  @ApiPropertyOptional({ description: 'Id of the request (X-Request-Id).' })
  requestId?: string;

  @ApiPropertyOptional({ description: 'On 5xx: quote it when reporting the problem; the server log has the details under it.' })
  errorId?: string;
}
