import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiForbiddenResponse, ApiServiceUnavailableResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiErrorDto } from './api-error.dto.js';

/** The error responses every authenticated endpoint may give, for the OpenAPI document. */
export const ApiAuthErrors = () =>
  applyDecorators(
    ApiBearerAuth(),
    ApiBadRequestResponse({ type: ApiErrorDto, description: 'Invalid input; message names each bad field.' }),
    ApiUnauthorizedResponse({ type: ApiErrorDto, description: 'No API key, or an unknown or revoked one.' }),
    ApiForbiddenResponse({ type: ApiErrorDto, description: 'The key\'s role may not do this.' }),
    ApiServiceUnavailableResponse({ type: ApiErrorDto, description: 'Postgres or Redis is unavailable; retry after Retry-After seconds.' }),
  );
