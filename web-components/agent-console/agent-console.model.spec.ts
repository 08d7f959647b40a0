import type { SessionEventMessage, SessionView } from '../shared/protocol.js';
import { applyInboxEvent, besides, type Inbox, mergeView, sections, skipsRevisions } from './agent-console.model.js';

const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const S3 = '33333333-3333-4333-8333-333333333333';
const S4 = '44444444-4444-4444-8444-444444444444';
const event = (type: string, sessionId: string, revision: number, data: Record<string, unknown> = {}): SessionEventMessage =>
  ({ type, sessionId, revision, occurredAt: `2026-11-24T10:00:${String(revision).padStart(2, '0')}Z`, data: { sessionId, ...data } });
const view = (sessionId: string, revision: number, overrides: Partial<SessionView> = {}): SessionView => ({
  sessionId, userId: 'c1', agentId: null, agentName: null, subject: 'Keys', status: 'waiting', startTime: '2026-11-24T09:00:00Z', endTime: null,
  rating: null, ratingComment: null, messageCount: 0, lastMessageAt: null, lastMessagePreview: null, unreadForUser: 0,
  unreadForAgent: 0, revision, ...overrides,
});
const apply = (inbox: Inbox, ...events: SessionEventMessage[]) =>
  events.reduce<Inbox>((current, next) => {
    const applied = applyInboxEvent(current, next);
    if (applied === 'unknown') throw new Error(`unknown ${next.sessionId}`);
    return applied;
  }, inbox);

describe('the agent inbox', () => {
  it('follows a session from waiting to active to closed, counting unread customer messages', () => {
    const inbox = apply(
      {},
      event('ChatSessionOpened', S1, 0, { customerId: 'c1', subject: 'Flat tyre' }),
      event('ChatMessageSent', S1, 1, { senderType: 'user', body: 'Hello?' }),
      event('AgentJoined', S1, 2, { agentId: 'a1', agentName: 'Ada' }),
      event('ChatMessageSent', S1, 3, { senderType: 'user', body: 'Still there?' }),
      event('ChatMessageSent', S1, 4, { senderType: 'agent', body: 'Yes' }),
    );
    expect(inbox[S1]).toMatchObject({ status: 'active', agentId: 'a1', agentName: 'Ada', unread: 2, lastMessagePreview: 'Yes', subject: 'Flat tyre' });
    expect(apply(inbox, event('ChatSessionClosed', S1, 5, { closedBy: 'a1' }))[S1]!.status).toBe('closed');
  });

  it('ignores news older than what it shows: the list read after subscribing and the live events overlap', () => {
    let inbox = apply({}, event('ChatSessionOpened', S1, 0, { customerId: 'c1', subject: 'Keys' }));
    inbox = mergeView(inbox, view(S1, 2, { status: 'active', agentId: 'a1', unreadForAgent: 1 }));
    inbox = apply(inbox, event('AgentJoined', S1, 1, { agentId: 'a1', agentName: 'Ada' }), event('ChatMessageSent', S1, 2, { senderType: 'user', body: 'x' }));
    expect(inbox[S1]).toMatchObject({ status: 'active', unread: 1, revision: 2 });
    expect(mergeView(inbox, view(S1, 1))).toBe(inbox);
  });

  it('says when an event skips revisions it was not told of (read receipts), and then takes the server\'s count', () => {
    let inbox = apply(
      {},
      event('ChatSessionOpened', S1, 0, { customerId: 'c1', subject: 'Keys' }),
      event('ChatMessageSent', S1, 1, { senderType: 'user', body: 'Hello?' }),
      event('AgentJoined', S1, 2, { agentId: 'a2', agentName: 'Bo' }),
    );
    // Revision 3: Bo read the message, which the inbox does not hear of.
    const next = event('ChatMessageSent', S1, 4, { senderType: 'user', body: 'Thanks' });
    expect(skipsRevisions(inbox, event('ChatMessageSent', S1, 3, { senderType: 'user', body: 'x' }))).toBe(false);
    expect(skipsRevisions(inbox, next)).toBe(true);
    expect(skipsRevisions({}, next)).toBe(false);
    inbox = apply(inbox, next);
    expect(inbox[S1]).toMatchObject({ unread: 2, revision: 4 });

    const reread = view(S1, 4, { status: 'active', agentId: 'a2', unreadForAgent: 1 });
    expect(mergeView(inbox, reread)).toBe(inbox); // news no newer than what it shows
    expect(mergeView(inbox, reread, { recount: true })[S1]).toMatchObject({ unread: 1, revision: 4, agentName: 'Bo' });
    expect(mergeView(inbox, view(S1, 3), { recount: true })).toBe(inbox);
  });

  it("names a chat's agent as the server's list does; where the list has no name, as heard live, of that agent only", () => {
    expect(mergeView({}, view(S1, 2, { status: 'active', agentId: 'a1', agentName: 'Ada' }))[S1]).toMatchObject({ agentId: 'a1', agentName: 'Ada' });
    const heard = apply({}, event('ChatSessionOpened', S1, 0, { customerId: 'c1', subject: 'Keys' }), event('AgentJoined', S1, 1, { agentId: 'a1', agentName: 'Ada' }));
    expect(mergeView(heard, view(S1, 2, { status: 'active', agentId: 'a1' }))[S1]).toMatchObject({ agentId: 'a1', agentName: 'Ada' });
    expect(mergeView(heard, view(S1, 4, { status: 'active', agentId: 'a2' }))[S1]!.agentName).toBeUndefined();
  });

  it("previews a message as the server's row does: one line, 120 characters, an emoji across the cut kept whole", () => {
    const opened = apply({}, event('ChatSessionOpened', S1, 0, { customerId: 'c1', subject: 'Scratch' }));
    const body = `${'a'.repeat(10)}\n\n  ${'b'.repeat(108)}🚗🚗 and more`;
    const inbox = apply(opened, event('ChatMessageSent', S1, 1, { senderType: 'user', body }));
    expect(inbox[S1]!.lastMessagePreview).toBe(`${'a'.repeat(10)} ${'b'.repeat(108)}🚗`);
    expect(apply(opened, event('ChatMessageSent', S1, 1, { senderType: 'user', body: ' Hi\tthere ' }))[S1]!.lastMessagePreview).toBe(' Hi there ');
  });

  it('says when an event is about a session it does not hold', () => {
    expect(applyInboxEvent({}, event('ChatMessageSent', S2, 3, { senderType: 'user', body: 'x' }))).toBe('unknown');
  });

  it('lists the longest waiting first, and my active chats before others', () => {
    const inbox: Inbox = {
      [S1]: { ...mergeView({}, view(S1, 1, { startTime: '2026-11-24T09:05:00Z', status: 'active', agentId: 'a2' }))[S1]! },
      [S2]: { ...mergeView({}, view(S2, 1, { startTime: '2026-11-24T09:01:00Z', status: 'active', agentId: 'a1' }))[S2]! },
    };
    expect(sections(inbox, 'a1').active.map((item) => item.sessionId)).toEqual([S2, S1]);
    const waiting = { ...mergeView({}, view(S1, 0, { startTime: '2026-11-24T09:05:00Z' })), ...mergeView({}, view(S2, 0, { startTime: '2026-11-24T09:01:00Z' })) };
    expect(sections(waiting, 'a1').waiting.map((item) => item.sessionId)).toEqual([S2, S1]);
  });

  it("counts, besides the chat shown, the chats waiting and the messages unread in the agent's own chats", () => {
    const inbox: Inbox = {
      ...mergeView({}, view(S1, 1, { unreadForAgent: 2 })),
      ...mergeView({}, view(S2, 3, { status: 'active', agentId: 'a1', unreadForAgent: 1 })),
      ...mergeView({}, view(S3, 3, { status: 'active', agentId: 'a2', unreadForAgent: 4 })),
      ...mergeView({}, view(S4, 5, { status: 'closed', agentId: 'a1', unreadForAgent: 8 })),
    };
    expect(besides(inbox, 'a1', undefined)).toEqual({ waiting: 1, unread: 1 });
    expect(besides(inbox, 'a1', S1)).toEqual({ waiting: 0, unread: 1 });
    expect(besides(inbox, 'a1', S2)).toEqual({ waiting: 1, unread: 0 });
    expect(besides(inbox, 'a2', S2)).toEqual({ waiting: 1, unread: 4 });
  });
});
