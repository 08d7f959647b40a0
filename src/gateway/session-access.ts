import { Injectable } from '@nestjs/common';
import type { ChatSessionState } from '../chat-session/chat-session.decider.js';
import { ChatSessionRepository } from '../chat-session/chat-session.repository.js';
import type { Principal } from '../auth/tokens.js';
import { GatewayRejection, forbiddenSession } from './gateway-errors.js';
import { isSessionId } from './routes.js';

/**
 * Who may watch or type in a session, decided on the write side's state (the event store,
 * through the repository's cache refreshed at each check): the read model may lag behind it, and
 * a session opened a moment ago on another node must already be visible to its customer.
 */
@Injectable()
export class SessionAccess {
  constructor(private readonly sessions: ChatSessionRepository) {}

  /**
   * The session's current revision (-1 before its first event), when `principal` may subscribe
   * to it: its customer, any agent, any auditor.
   * @throws {GatewayRejection} `FORBIDDEN` otherwise, and for a session that does not exist.
   * @throws {EventStoreUnavailable} when the store cannot be read.
   */
  async mayWatch(principal: Principal, sessionId: string): Promise<bigint> {
    if (!isSessionId(sessionId)) throw forbiddenSession();
    const { state, revision } = await this.sessions.load(sessionId, { fresh: true });
    if (state.status === 'none') throw forbiddenSession();
    if (principal.role === 'customer' && state.customerId !== principal.id) throw forbiddenSession();
    return revision ?? -1n;
  }

  /**
   * Which side `principal` types on, when it is a participant (the customer or the assigned
   * agent) of the open session.
   * @throws {GatewayRejection} `FORBIDDEN` for anyone else, `SESSION_CLOSED` once it is closed.
   * @throws {EventStoreUnavailable} when the store cannot be read.
   */
  async mayType(principal: Principal, sessionId: string): Promise<'user' | 'agent'> {
    if (!isSessionId(sessionId)) throw forbiddenSession();
    const { state } = await this.sessions.load(sessionId, { fresh: true });
    const side = participantSide(state, principal);
    if (side === undefined) throw new GatewayRejection('FORBIDDEN', 'only the session\'s customer and its agent may type in it');
    if (state.status === 'closed') throw new GatewayRejection('SESSION_CLOSED', 'the session is closed');
    return side;
  }
}

function participantSide(state: ChatSessionState, principal: Principal): 'user' | 'agent' | undefined {
  if (state.status === 'none') return undefined;
  if (principal.role === 'customer' && state.customerId === principal.id) return 'user';
  const agentId = state.status === 'waiting' ? undefined : state.agentId;
  if (principal.role === 'agent' && agentId === principal.id) return 'agent';
  return undefined;
}
