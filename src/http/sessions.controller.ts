import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import type { DatabasePool } from 'slonik';
import { type MessageView, type Page, type SessionCursor, SessionQueries, type SessionView } from '../../read-models/session-queries.js';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import type { Principal } from '../auth/tokens.js';
import { DATABASE_POOL } from '../database/pool.js';
import { isoInstant, parameter } from './query-parameters.js';

const STATUSES = ['waiting', 'active', 'closed'] as const;

/**
 * The read side over HTTP: agents and auditors see every session, customers only their own
 * (another's is a 404, so that its existence is not revealed).
 */
@Controller('api/sessions')
@UseGuards(AuthGuard)
export class SessionsController {
  private readonly queries: SessionQueries;

  constructor(@Inject(DATABASE_POOL) pool: DatabasePool) {
    this.queries = new SessionQueries(pool);
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Query() query: Record<string, unknown>): Promise<Page<SessionView>> {
    const status = parameter.oneOf('status', parameter.single('status', query.status), STATUSES);
    const limit = parameter.integer('limit', parameter.single('limit', query.limit), { min: 1, max: 100, fallback: 20 })!;
    const cursor = parameter.single('cursor', query.cursor);
    const page = await this.queries.list({
      ...(principal.role === 'customer' ? { userId: principal.id } : {}),
      ...(status ? { status } : {}),
      ...(cursor === undefined ? {} : { after: decodeCursor(cursor) }),
      limit,
    });
    return { items: page.items, nextCursor: page.next && encodeCursor(page.next) };
  }

  @Get(':id')
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SessionView> {
    return this.visibleSession(principal, parameter.uuid('id', id));
  }

  @Get(':id/messages')
  async messages(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<Page<MessageView>> {
    const session = await this.visibleSession(principal, parameter.uuid('id', id));
    const after = parameter.integer('after', parameter.single('after', query.after), { min: 0, max: Number.MAX_SAFE_INTEGER });
    const limit = parameter.integer('limit', parameter.single('limit', query.limit), { min: 1, max: 500, fallback: 100 })!;
    return this.queries.messages(session.sessionId, { ...(after === undefined ? {} : { afterRevision: BigInt(after) }), limit });
  }

  /** @throws {NotFoundException} when the session does not exist or is not the caller's. */
  private async visibleSession(principal: Principal, sessionId: string): Promise<SessionView> {
    const session = await this.queries.get(sessionId);
    if (!session || (principal.role === 'customer' && session.userId !== principal.id)) {
      throw new NotFoundException(`no session ${sessionId}`);
    }
    return session;
  }
}

function encodeCursor(cursor: SessionCursor): string {
  return Buffer.from(JSON.stringify([cursor.startTime, cursor.sessionId])).toString('base64url');
}

function decodeCursor(text: string): SessionCursor {
  try {
    const [startTime, sessionId] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof startTime === 'string' && isoInstant(startTime) !== undefined && typeof sessionId === 'string') {
      return { startTime, sessionId: parameter.uuid('cursor', sessionId) };
    }
  } catch {
    // reported below
  }
  throw new BadRequestException('cursor must be a nextCursor returned by this API');
}
