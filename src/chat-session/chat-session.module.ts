import { Module } from '@nestjs/common';
import { ExecuteChatSessionCommandHandler } from './chat-session.handler.js';
import { ChatSessionRepository } from './chat-session.repository.js';
import { ChatSessionService } from './chat-session.service.js';

/** The write side of chat sessions. Needs a global `EVENT_STORE` provider and `CqrsModule`. */
@Module({
  providers: [ChatSessionRepository, ExecuteChatSessionCommandHandler, ChatSessionService],
  exports: [ChatSessionService],
})
export class ChatSessionModule {}
