import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeysService } from './api-keys.service.js';
import { AuthGuard } from './auth.guard.js';

/** API keys and the global guard that checks them on every route. */
@Module({
  providers: [ApiKeysService, AuthGuard, { provide: APP_GUARD, useExisting: AuthGuard }],
  exports: [ApiKeysService, AuthGuard],
})
export class AuthModule {}
