import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { EventStoreUnavailable, WrongExpectedVersion } from '../event-store/event-store.js';
import { type ChatSessionCommand, type CommandPayload, type CommandPayloadKind, parseCommandPayload } from './chat-session.commands.js';
import { ChatSessionRejected, type RejectionCode } from './chat-session.errors.js';
import type { Actor } from './chat-session.events.js';
import { type CommandOutcome, ExecuteChatSessionCommand } from './chat-session.handler.js';
import { TooManyOpenSessions } from './open-session-limit.js';

/** Every code a client can get back for a command (DESIGN.md, "STOMP contract"). */
export type CommandRejectionCode = RejectionCode | 'INVALID_COMMAND' | 'FORBIDDEN' | 'RATE_LIMITED' | 'UNAVAILABLE';

/**
 * A command was not applied: nothing was appended, but for `UNAVAILABLE` after a connection lost
 * during the commit, when whether it was is not known.
 */
export class CommandRejected extends Error {
  override readonly name = 'CommandRejected';
  constructor(readonly code: CommandRejectionCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A client's command as the edge (STOMP, HTTP) receives it. */
export interface ChatCommandRequest {
  readonly kind: CommandPayloadKind;
  /** The session id of the destination (`/app/chat/{sessionId}/…`); absent for `open`. */
  readonly sessionId?: string;
  /** The parsed JSON body, not validated yet. */
  readonly payload: unknown;
  readonly actor: Actor & { readonly name?: string };
  readonly correlationId?: string;
}

const ROLES: Record<CommandPayloadKind, readonly Actor['role'][]> = {
  open: ['customer'],
  join: ['agent'],
  leave: ['agent'],
  messages: ['customer', 'agent'],
  read: ['customer', 'agent'],
  close: ['customer', 'agent'],
  rating: ['customer'],
};

/** Each role and what each command does, in the words of a refusal: "an auditor may not send messages". */
const WHO: Record<Actor['role'], string> = { customer: 'a customer', agent: 'an agent', auditor: 'an auditor', system: 'the system' };

const ACTIONS: Record<CommandPayloadKind, string> = {
  open: 'open a chat',
  join: 'join a chat',
  leave: 'leave a chat',
  messages: 'send messages',
  read: 'mark messages read',
  close: 'close a chat',
  rating: 'rate a chat',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The write side's entry point for the edges: checks the sender's role and the payload's shape,
 * builds the command with the sender's identity, executes it, and turns every refusal into a
 * {@link CommandRejected} with the contract's code.
 */
@Injectable()
export class ChatSessionService {
  constructor(private readonly commandBus: CommandBus) {}

  /** @throws {CommandRejected} when the command is refused or could not be stored (see `CommandRejected`). */
  async submit(request: ChatCommandRequest): Promise<CommandOutcome> {
    const { kind, actor } = request;
    if (!ROLES[kind].includes(actor.role)) {
      throw new CommandRejected('FORBIDDEN', `${WHO[actor.role]} may not ${ACTIONS[kind]}`);
    }
    if (kind !== 'open' && !UUID.test(request.sessionId ?? '')) {
      throw new CommandRejected('INVALID_COMMAND', 'sessionId: must be a UUID (in the destination)');
    }
    const parsed = parseCommandPayload(kind, request.payload);
    if (!parsed.ok) throw new CommandRejected('INVALID_COMMAND', parsed.message);
    const command = toCommand(kind, parsed.value, request.sessionId?.toLowerCase() ?? '', actor);
    const commandId = randomUUID();
    const context = { actor: { id: actor.id, role: actor.role }, commandId, correlationId: request.correlationId ?? commandId, now: new Date() };
    try {
      return await this.commandBus.execute(new ExecuteChatSessionCommand(command, context));
    } catch (error) {
      throw rejection(error);
    }
  }
}

function toCommand(kind: CommandPayloadKind, payload: CommandPayload<CommandPayloadKind>, sessionId: string, actor: ChatCommandRequest['actor']): ChatSessionCommand {
  const side = actor.role === 'agent' ? 'agent' : 'user';
  switch (kind) {
    case 'open': {
      const { sessionId: id, ...rest } = payload as CommandPayload<'open'>;
      return { type: 'OpenChatSession', data: { sessionId: id, customerId: actor.id, ...rest } };
    }
    case 'join':
      return { type: 'JoinChatSession', data: { sessionId, agentId: actor.id, agentName: actor.name ?? actor.id } };
    case 'leave':
      return { type: 'LeaveChatSession', data: { sessionId, agentId: actor.id } };
    case 'messages':
      return { type: 'SendChatMessage', data: { sessionId, senderId: actor.id, senderType: side, ...(payload as CommandPayload<'messages'>) } };
    case 'read':
      return { type: 'MarkMessagesRead', data: { sessionId, readerId: actor.id, readerType: side, ...(payload as CommandPayload<'read'>) } };
    case 'close':
      return { type: 'CloseChatSession', data: { sessionId, closedBy: actor.id, closerType: side, ...(payload as CommandPayload<'close'>) } };
    case 'rating':
      return { type: 'RateChatSession', data: { sessionId, customerId: actor.id, ...(payload as CommandPayload<'rating'>) } };
  }
}

function rejection(error: unknown): unknown {
  if (error instanceof ChatSessionRejected || error instanceof TooManyOpenSessions) {
    return new CommandRejected(error.code, error.message, { cause: error });
  }
  if (error instanceof EventStoreUnavailable) {
    // A connection lost during the commit leaves it unknown whether the events were stored.
    return new CommandRejected('UNAVAILABLE', 'the event store is unreachable; it may not have been stored: send it again', { cause: error });
  }
  if (error instanceof WrongExpectedVersion) {
    return new CommandRejected('UNAVAILABLE', 'the session is changing too fast; nothing was stored, retry', { cause: error });
  }
  return error;
}
