import { Module } from '@nestjs/common';
import { ExecuteChatSessionCommandHandler } from './chat-session.handler.js';
import { ChatSessionRepository } from './chat-session.repository.js';
import { ChatSessionService } from './chat-session.service.js';
import { OpenSessionLimit } from './open-session-limit.js';

/**
 * The write side of chat sessions. Needs `CqrsModule` and the global `EVENT_STORE`, `CONFIG`
 * and `DATABASE_POOL` (the read model, for the open-session limit) providers.
 */
@Module({
  providers: [ChatSessionRepository, ExecuteChatSessionCommandHandler, ChatSessionService, OpenSessionLimit],
  exports: [ChatSessionService],
})
export class ChatSessionModule {}
