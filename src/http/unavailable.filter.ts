import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { TokenKeysUnavailable } from '../auth/tokens.js';
import { isConnectionLoss } from '../database/connection-loss.js';
import { EventStoreUnavailable } from '../event-store/event-store.js';

/**
 * An HTTP request that needed the database, the event store or the token's key set while it was
 * unreachable is a 503 the client may retry, not a 500 (nor a 401): nothing is wrong with it.
 */
@Catch()
export class UnavailableFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  override catch(error: unknown, host: ArgumentsHost): void {
    const keys = error instanceof TokenKeysUnavailable;
    const unavailable = keys || error instanceof EventStoreUnavailable || isConnectionLoss(error);
    if (host.getType() !== 'http' || !unavailable) return super.catch(error, host);
    this.logger.warn(`answered 503: ${(error as Error).message}`);
    const response = host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>();
    response.status(HttpStatus.SERVICE_UNAVAILABLE).json({
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      error: 'Service Unavailable',
      message: keys ? 'the signing keys of tokens could not be fetched; retry shortly' : 'the database is unreachable; retry shortly',
    });
  }
}
