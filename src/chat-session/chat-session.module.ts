import { Module } from '@nestjs/common';
import { ExecuteChatSessionCommandHandler } from './chat-session.handler.js';
import { ChatSessionRepository } from './chat-session.repository.js';
import { ChatSessionService } from './chat-session.service.js';
import { OpenSessionLimit } from './open-session-limit.js';

/**
 * The write side of chat sessions. Needs `CqrsModule` and the global `EVENT_STORE`, `CONFIG`
 * and `DATABASE_POOL` (the read model, for the open-session limit) providers. Its repository
 * is exported for the gateway's access checks: one cache of session states per process.
 */
@Module({
  providers: [ChatSessionRepository, ExecuteChatSessionCommandHandler, ChatSessionService, OpenSessionLimit],
  exports: [ChatSessionService, ChatSessionRepository],
})
export class ChatSessionModule {}
