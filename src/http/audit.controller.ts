import {
  BadRequestException,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  Inject,
  NotFoundException,
  Param,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  type AuditedEvent,
  HistoryBroken,
  type HistoryPoint,
  PointOutOfRange,
  type SessionAt,
  sessionAt,
  sessionHistory,
  SessionNotFound,
  verifySession,
} from '../audit/session-audit.js';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import type { Principal } from '../auth/tokens.js';
import type { ChainVerification } from '../chat-session/hash-chain.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';
import { parameter } from './query-parameters.js';

/** The auditor's tools over HTTP, read straight from the event log (auditors and agents). */
@Controller('api/audit/sessions/:id')
@UseGuards(AuthGuard)
export class AuditController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get('events')
  async events(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<{ sessionId: string; events: AuditedEvent[] }> {
    const sessionId = parameter.uuid('id', id);
    return { sessionId, events: await this.history(principal, sessionId) };
  }

  @Get('state')
  async state(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Query() query: Record<string, unknown>): Promise<SessionAt> {
    const sessionId = parameter.uuid('id', id);
    const revision = parameter.integer('revision', parameter.single('revision', query.revision), { min: 0, max: Number.MAX_SAFE_INTEGER });
    const at = parameter.single('at', query.at);
    if (revision !== undefined && at !== undefined) throw new BadRequestException('give revision or at, not both');
    const point: HistoryPoint = revision !== undefined ? { revision } : at !== undefined ? { at: parameter.instant('at', at) } : {};
    const history = await this.history(principal, sessionId);
    try {
      return sessionAt(sessionId, history, point);
    } catch (error) {
      if (error instanceof PointOutOfRange) throw new BadRequestException(error.message);
      if (error instanceof HistoryBroken) throw new ConflictException(error.message);
      throw error;
    }
  }

  @Get('verify')
  async verify(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<ChainVerification> {
    return verifySession(await this.history(principal, parameter.uuid('id', id)));
  }

  private async history(principal: Principal, sessionId: string): Promise<AuditedEvent[]> {
    if (principal.role === 'customer') throw new ForbiddenException('the audit API is for auditors and agents');
    try {
      return await sessionHistory(this.store, sessionId);
    } catch (error) {
      if (error instanceof SessionNotFound) throw new NotFoundException(error.message);
      throw error;
    }
  }
}
