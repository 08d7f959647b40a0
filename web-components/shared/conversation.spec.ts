import { applyEvent, emptyConversation, foldEvents, isReadByOtherSide, unreadFor, type MessageLine } from './conversation.js';
import type { SessionEventMessage } from './protocol.js';

const S = '7d1d1a8e-3b0e-4b6e-9a51-0f1b8c2d4e6f';
let revision = 0;
const event = (type: string, data: Record<string, unknown>): SessionEventMessage =>
  ({ type, sessionId: S, revision: revision++, occurredAt: `2026-11-24T10:00:0${revision % 10}Z`, data: { sessionId: S, ...data } });

describe('the conversation fold', () => {
  beforeEach(() => (revision = 0));

  it('tells a session from opening to rating: status, agent, lines in order', () => {
    const events = [
      event('ChatSessionOpened', { customerId: 'c1', subject: 'Flat tyre' }),
      event('AgentJoined', { agentId: 'a1', agentName: 'Ada' }),
      event('ChatMessageSent', { messageId: 'm1', senderId: 'c1', senderType: 'user', body: 'Hello' }),
      event('ChatMessageSent', { messageId: 'm2', senderId: 'a1', senderType: 'agent', body: 'Hi, how can I help?' }),
      event('AgentLeft', { agentId: 'a1' }),
      event('ChatSessionClosed', { closedBy: 'c1' }),
      event('ChatSessionRated', { rating: 4, comment: 'quick' }),
    ];

    const conversation = foldEvents(S, events);

    expect(conversation).toMatchObject({ revision: 6, status: 'closed', subject: 'Flat tyre', customerId: 'c1', closedBy: 'c1', rating: { rating: 4, comment: 'quick' } });
    expect(conversation.agent).toBeUndefined();
    expect(conversation.lines.map((line) => (line.kind === 'message' ? line.body : line.event))).toEqual([
      'opened', 'joined', 'Hello', 'Hi, how can I help?', 'left', 'closed', 'rated',
    ]);
    expect(conversation.lines[4]).toMatchObject({ event: 'left', actorName: 'Ada' });
  });

  it('is the session as it was at any revision when folded over a prefix (the replay scrubber)', () => {
    const events = [
      event('ChatSessionOpened', { customerId: 'c1', subject: 'Keys' }),
      event('AgentJoined', { agentId: 'a1', agentName: 'Ada' }),
      event('ChatSessionClosed', { closedBy: 'a1' }),
    ];
    expect(foldEvents(S, events.slice(0, 2))).toMatchObject({ status: 'active', agent: { id: 'a1', name: 'Ada' }, revision: 1 });
    expect(foldEvents(S, events.slice(0, 1))).toMatchObject({ status: 'waiting', revision: 0 });
  });

  it('marks messages read by the other side up to the receipt, and counts the unread', () => {
    let conversation = foldEvents(S, [
      event('ChatSessionOpened', { customerId: 'c1', subject: 'Keys' }),
      event('AgentJoined', { agentId: 'a1', agentName: 'Ada' }),
      event('ChatMessageSent', { messageId: 'm1', senderId: 'c1', senderType: 'user', body: 'one' }),
      event('ChatMessageSent', { messageId: 'm2', senderId: 'c1', senderType: 'user', body: 'two' }),
    ]);
    const [m1, m2] = conversation.lines.filter((line): line is MessageLine => line.kind === 'message');
    expect(unreadFor(conversation, 'agent')).toHaveLength(2);

    conversation = applyEvent(conversation, event('MessagesRead', { readerId: 'a1', readerType: 'agent', upToMessageId: 'm1' }));

    expect(isReadByOtherSide(conversation, m1!)).toBe(true);
    expect(isReadByOtherSide(conversation, m2!)).toBe(false);
    expect(unreadFor(conversation, 'agent').map((line) => line.messageId)).toEqual(['m2']);
    expect(unreadFor(conversation, 'user')).toEqual([]);
  });

  it('keeps a message body as the text it is, markup included', () => {
    const conversation = applyEvent(emptyConversation(S), event('ChatMessageSent', { messageId: 'm1', senderId: 'c1', senderType: 'user', body: '<img src=x onerror=alert(1)>' }));
    expect(conversation.lines[0]).toMatchObject({ body: '<img src=x onerror=alert(1)>' });
  });

  it('moves the revision on over an event type it does not know', () => {
    expect(applyEvent(emptyConversation(S), event('SomethingNew', {}))).toMatchObject({ revision: 0, lines: [] });
  });
});
