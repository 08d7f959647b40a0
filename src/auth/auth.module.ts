import { Module } from '@nestjs/common';
import { CONFIG, type Config } from '../config.js';
import { AuthGuard } from './auth.guard.js';
import { DevTokenController } from './dev-token.controller.js';
import { TokenService } from './tokens.js';

/** JWT verification for every edge (HTTP, STOMP), and dev tokens when enabled. */
@Module({
  controllers: [DevTokenController],
  providers: [
    { provide: TokenService, inject: [CONFIG], useFactory: (config: Config) => TokenService.create(config) },
    AuthGuard,
  ],
  exports: [TokenService, AuthGuard],
})
export class AuthModule {}
