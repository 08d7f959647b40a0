import type { ChatSessionCommand } from './chat-session.commands.js';
import { decide, evolve, initialState, type ChatSessionState } from './chat-session.decider.js';
import { ChatSessionRejected, type RejectionCode } from './chat-session.errors.js';
import type { ChatSessionEvent, ParticipantType, Rating } from './chat-session.events.js';

/** given(past events).when(command).then(new events) or .thenRejects(code). */
function given(...events: ChatSessionEvent[]) {
  const state = events.reduce(evolve, initialState());
  return {
    when: (command: ChatSessionCommand) => ({
      then: (...expected: ChatSessionEvent[]) => expect(decide(command, state)).toStrictEqual(expected),
      thenRejects: (code: RejectionCode, message?: string) => {
        const error = rejectionOf(() => decide(command, state));
        expect(error.code).toBe(code);
        if (message !== undefined) expect(error.message).toBe(message);
      },
    }),
  };
}

function rejectionOf(run: () => unknown): ChatSessionRejected {
  try {
    run();
  } catch (error) {
    if (error instanceof ChatSessionRejected) return error;
    throw error;
  }
  throw new Error('expected a rejection, got events');
}

const sessionId = '0b5c4e59-6b53-4a0e-9d7e-2f7d3c1a9e01';
const customerId = 'customer-ada';
const strangerId = 'customer-bob';
const agentId = 'agent-ann';
const otherAgentId = 'agent-oz';
const m1 = '7a0d6c2e-1111-4c5e-8f00-000000000001';
const m2 = '7a0d6c2e-2222-4c5e-8f00-000000000002';

// Events
const opened: ChatSessionEvent = { type: 'ChatSessionOpened', data: { sessionId, customerId, subject: 'Flat tyre' } };
const joined = (agent = agentId): ChatSessionEvent => ({
  type: 'AgentJoined',
  data: { sessionId, agentId: agent, agentName: `Name of ${agent}` },
});
const left = (agent = agentId): ChatSessionEvent => ({ type: 'AgentLeft', data: { sessionId, agentId: agent } });
const sent = (messageId: string, senderType: ParticipantType = 'user', body = 'Hello'): ChatSessionEvent => ({
  type: 'ChatMessageSent',
  data: { sessionId, messageId, senderId: senderType === 'user' ? customerId : agentId, senderType, body },
});
const sentBy = (agent: string, messageId: string, body = 'Hello'): ChatSessionEvent => ({
  type: 'ChatMessageSent',
  data: { sessionId, messageId, senderId: agent, senderType: 'agent', body },
});
const read = (readerType: ParticipantType, upToMessageId: string): ChatSessionEvent => ({
  type: 'MessagesRead',
  data: { sessionId, readerId: readerType === 'user' ? customerId : agentId, readerType, upToMessageId },
});
const closed: ChatSessionEvent = { type: 'ChatSessionClosed', data: { sessionId, closedBy: customerId } };
const rated = (rating: Rating, comment?: string): ChatSessionEvent => ({
  type: 'ChatSessionRated',
  data: comment === undefined ? { sessionId, rating } : { sessionId, rating, comment },
});

// Commands
const openBy = (customer: string, extra: { reservationId?: string; locale?: string } = {}): ChatSessionCommand => ({
  type: 'OpenChatSession',
  data: { sessionId, customerId: customer, subject: 'Flat tyre', ...extra },
});
const joinBy = (agent: string): ChatSessionCommand => ({
  type: 'JoinChatSession',
  data: { sessionId, agentId: agent, agentName: `Name of ${agent}` },
});
const leaveBy = (agent: string): ChatSessionCommand => ({ type: 'LeaveChatSession', data: { sessionId, agentId: agent } });
const sendBy = (senderId: string, senderType: ParticipantType, body = 'Hello', messageId = m1): ChatSessionCommand => ({
  type: 'SendChatMessage',
  data: { sessionId, messageId, senderId, senderType, body },
});
const readBy = (readerId: string, readerType: ParticipantType, upToMessageId: string): ChatSessionCommand => ({
  type: 'MarkMessagesRead',
  data: { sessionId, readerId, readerType, upToMessageId },
});
const closeBy = (closedBy: string, closerType: ParticipantType, reason?: string): ChatSessionCommand => ({
  type: 'CloseChatSession',
  data: { sessionId, closedBy, closerType, reason },
});
const rateBy = (customer: string, rating: Rating, comment?: string): ChatSessionCommand => ({
  type: 'RateChatSession',
  data: { sessionId, customerId: customer, rating, comment },
});

describe('OpenChatSession', () => {
  it('opens a new session, omitting the optional fields not given', () =>
    given().when(openBy(customerId, { reservationId: undefined })).then(opened));

  it('keeps the reservation and the locale when given', () =>
    given()
      .when(openBy(customerId, { reservationId: 'R-42', locale: 'en-GB' }))
      .then({
        type: 'ChatSessionOpened',
        data: { sessionId, customerId, subject: 'Flat tyre', reservationId: 'R-42', locale: 'en-GB' },
      }));

  it('is an idempotent success when the same customer opens it again', () =>
    given(opened, joined()).when(openBy(customerId)).then());

  it('refuses another customer the session id', () =>
    given(opened).when(openBy(strangerId)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses another chat of the customer under an opened one’s id, which would be acknowledged and never stored', () => {
    const taken = 'this session id belongs to another chat; open it with an id of its own';
    given(opened, joined()).when(openBy(customerId, { reservationId: 'R-42' })).thenRejects('INVALID_COMMAND', taken);
    given(opened, closed).when({ type: 'OpenChatSession', data: { sessionId, customerId, subject: 'Lost key' } }).thenRejects('INVALID_COMMAND', taken);
    given(opened).when(openBy(customerId, { locale: 'fr-FR' })).thenRejects('INVALID_COMMAND', taken);
  });
});

describe('JoinChatSession', () => {
  it('lets an agent take a waiting session', () => given(opened).when(joinBy(agentId)).then(joined()));

  it('lets another agent take it once the first has left', () =>
    given(opened, joined(), left()).when(joinBy(otherAgentId)).then(joined(otherAgentId)));

  it('is an idempotent success for the agent already assigned', () =>
    given(opened, joined()).when(joinBy(agentId)).then());

  it('refuses a session handled by another agent', () =>
    given(opened, joined())
      .when(joinBy(otherAgentId))
      .thenRejects('NOT_A_PARTICIPANT', 'the session is handled by another agent'));

  it('refuses a session that does not exist', () => given().when(joinBy(agentId)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses a closed session', () => given(opened, closed).when(joinBy(agentId)).thenRejects('SESSION_CLOSED'));
});

describe('LeaveChatSession', () => {
  it('hands the session back', () => given(opened, joined()).when(leaveBy(agentId)).then(left()));

  it('refuses an agent who is not the assigned one', () =>
    given(opened, joined()).when(leaveBy(otherAgentId)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses when no agent is assigned', () => given(opened).when(leaveBy(agentId)).thenRejects('NOT_A_PARTICIPANT'));

  it('is an idempotent success for the agent who left last, while no agent has joined since', () => {
    given(opened, joined(), left()).when(leaveBy(agentId)).then();
    given(opened, joined(), left()).when(leaveBy(otherAgentId)).thenRejects('NOT_A_PARTICIPANT');
    given(opened, joined(), left(), joined(otherAgentId), left(otherAgentId)).when(leaveBy(agentId)).thenRejects('NOT_A_PARTICIPANT');
    given(opened, joined(), left(), joined(otherAgentId)).when(leaveBy(agentId)).thenRejects('NOT_A_PARTICIPANT');
  });

  it('refuses a session that does not exist', () => given().when(leaveBy(agentId)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses the assigned agent once the session is closed', () =>
    given(opened, joined(), closed).when(leaveBy(agentId)).thenRejects('SESSION_CLOSED'));

  it('tells another agent of a closed session only that it is not theirs', () =>
    given(opened, joined(), closed).when(leaveBy(otherAgentId)).thenRejects('NOT_A_PARTICIPANT'));
});

describe('SendChatMessage', () => {
  it('lets the customer write while waiting for an agent', () =>
    given(opened).when(sendBy(customerId, 'user')).then(sent(m1)));

  it('lets the assigned agent write', () =>
    given(opened, joined()).when(sendBy(agentId, 'agent', 'On my way')).then(sent(m1, 'agent', 'On my way')));

  it('stores the body trimmed', () =>
    given(opened).when(sendBy(customerId, 'user', '  \n Hello \t ')).then(sent(m1, 'user', 'Hello')));

  it('keeps an attachment url', () => {
    const command: ChatSessionCommand = {
      type: 'SendChatMessage',
      data: { sessionId, messageId: m1, senderId: customerId, senderType: 'user', body: 'See', attachmentUrl: 'https://x.test/a.png' },
    };
    given(opened).when(command).then({
      type: 'ChatMessageSent',
      data: { sessionId, messageId: m1, senderId: customerId, senderType: 'user', body: 'See', attachmentUrl: 'https://x.test/a.png' },
    });
  });

  it('is an idempotent success for a message already stored, its body trimmed or not', () => {
    given(opened, sent(m1)).when(sendBy(customerId, 'user')).then();
    given(opened, sent(m1)).when(sendBy(customerId, 'user', ' Hello\n')).then();
  });

  it('is an idempotent success for a message stored before the session closed', () =>
    given(opened, sent(m1), closed).when(sendBy(customerId, 'user')).then());

  it('is an idempotent success for an agent’s message stored before the agent handed the session back', () => {
    given(opened, joined(), sent(m1, 'agent'), left()).when(sendBy(agentId, 'agent')).then();
    given(opened, joined(), sent(m1, 'agent'), left(), joined(otherAgentId)).when(sendBy(agentId, 'agent')).then();
  });

  it('refuses another message under a stored message’s id, which would be acknowledged and never stored', () => {
    const taken = 'this message id belongs to another message; send it with an id of its own';
    given(opened, sent(m1)).when(sendBy(customerId, 'user', 'Hello again')).thenRejects('INVALID_MESSAGE', taken);
    given(opened, joined(), sent(m1)).when(sendBy(agentId, 'agent')).thenRejects('INVALID_MESSAGE', taken);
    given(opened, sent(m1), closed).when(sendBy(customerId, 'user', 'Hello again')).thenRejects('INVALID_MESSAGE', taken);
    const withAttachment: ChatSessionCommand = {
      type: 'SendChatMessage',
      data: { sessionId, messageId: m1, senderId: customerId, senderType: 'user', body: 'Hello', attachmentUrl: 'https://x.test/a.png' },
    };
    given(opened, sent(m1)).when(withAttachment).thenRejects('INVALID_MESSAGE', taken);
  });

  it('refuses a message under the id of one another agent sent', () =>
    given(opened, joined(otherAgentId), sentBy(otherAgentId, m1), left(otherAgentId), joined())
      .when(sendBy(agentId, 'agent'))
      .thenRejects('INVALID_MESSAGE'));

  it('refuses a session that does not exist', () =>
    given().when(sendBy(customerId, 'user')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses another customer', () => given(opened).when(sendBy(strangerId, 'user')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses an agent while none is assigned', () =>
    given(opened).when(sendBy(agentId, 'agent')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses an agent who is not the assigned one', () =>
    given(opened, joined()).when(sendBy(otherAgentId, 'agent')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses the agent after leaving', () =>
    given(opened, joined(), left()).when(sendBy(agentId, 'agent')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses the customer posing as the agent', () =>
    given(opened, joined()).when(sendBy(customerId, 'agent')).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses a closed session', () =>
    given(opened, joined(), closed).when(sendBy(agentId, 'agent')).thenRejects('SESSION_CLOSED'));

  it('tells an outsider of a closed session only that it is not theirs', () =>
    given(opened, closed).when(sendBy(strangerId, 'user')).thenRejects('NOT_A_PARTICIPANT'));

  const blank = 'a message must have something to read: this one is only white space or invisible characters';

  it('refuses a body of white space only, saying so', () =>
    given(opened).when(sendBy(customerId, 'user', ' \n\t ')).thenRejects('INVALID_MESSAGE', blank));

  it('refuses a body that shows nothing: zero-width spaces, a bell, bidirectional marks, saying so', () => {
    for (const body of ['\u200b', '\u0007', '\u202e\u2066', '\u200b \ufeff']) {
      given(opened).when(sendBy(customerId, 'user', body)).thenRejects('INVALID_MESSAGE', blank);
    }
    const coder = '\u{1f469}\u200d\u{1f4bb}'; // a woman and a laptop, joined by a zero-width joiner
    given(opened).when(sendBy(customerId, 'user', coder)).then(sent(m1, 'user', coder));
  });

  it('accepts 4,000 characters, counted as code points, and refuses 4,001', () => {
    given(opened).when(sendBy(customerId, 'user', '😀'.repeat(4000))).then(sent(m1, 'user', '😀'.repeat(4000)));
    given(opened)
      .when(sendBy(customerId, 'user', 'a'.repeat(4001)))
      .thenRejects('INVALID_MESSAGE', 'a message is 4000 characters at most (Unicode code points, trimmed); this one is 4001');
  });

  const broken = 'a message must be valid Unicode text (no lone surrogate) without NUL characters';

  it('refuses text that is not valid Unicode (a lone surrogate)', () =>
    given(opened).when(sendBy(customerId, 'user', 'broken \ud800 text')).thenRejects('INVALID_MESSAGE', broken));

  it('refuses text with a NUL character, which the database cannot store', () =>
    given(opened).when(sendBy(customerId, 'user', 'nul \u0000 byte')).thenRejects('INVALID_MESSAGE', broken));
});

describe('MarkMessagesRead', () => {
  it('records a receipt of a participant', () =>
    given(opened, joined(), sent(m1), sent(m2, 'agent')).when(readBy(customerId, 'user', m2)).then(read('user', m2)));

  it('is an idempotent success when that side has read up to that message or later', () => {
    given(opened, sent(m1), sent(m2), read('user', m2)).when(readBy(customerId, 'user', m1)).then();
    given(opened, sent(m1), read('user', m1)).when(readBy(customerId, 'user', m1)).then();
  });

  it('keeps each side its own receipts', () =>
    given(opened, joined(), sent(m1), sent(m2), read('user', m2)).when(readBy(agentId, 'agent', m1)).then(read('agent', m1)));

  it('is allowed after the session closed', () =>
    given(opened, joined(), sent(m1), closed).when(readBy(agentId, 'agent', m1)).then(read('agent', m1)));

  it('refuses a message that is not in the session', () =>
    given(opened, sent(m1)).when(readBy(customerId, 'user', m2)).thenRejects('INVALID_MESSAGE'));

  it('refuses an outsider, before looking at the message', () =>
    given(opened, joined(), sent(m1)).when(readBy(otherAgentId, 'agent', m2)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses a session that does not exist', () =>
    given().when(readBy(customerId, 'user', m1)).thenRejects('NOT_A_PARTICIPANT'));
});

describe('CloseChatSession', () => {
  it('lets the customer close, with a reason', () =>
    given(opened).when(closeBy(customerId, 'user', 'Solved')).then({
      type: 'ChatSessionClosed',
      data: { sessionId, closedBy: customerId, reason: 'Solved' },
    }));

  it('lets the assigned agent close, omitting the reason not given', () =>
    given(opened, joined()).when(closeBy(agentId, 'agent')).then({
      type: 'ChatSessionClosed',
      data: { sessionId, closedBy: agentId },
    }));

  it('is a no-op success on a closed session', () => given(opened, closed).when(closeBy(customerId, 'user')).then());

  it('refuses an outsider, even of a closed session', () => {
    given(opened, joined()).when(closeBy(otherAgentId, 'agent')).thenRejects('NOT_A_PARTICIPANT');
    given(opened, closed).when(closeBy(strangerId, 'user')).thenRejects('NOT_A_PARTICIPANT');
  });

  it('refuses a session that does not exist', () =>
    given().when(closeBy(customerId, 'user')).thenRejects('NOT_A_PARTICIPANT'));
});

describe('RateChatSession', () => {
  it('lets the customer rate a closed session', () =>
    given(opened, closed).when(rateBy(customerId, 5, 'Quick help')).then(rated(5, 'Quick help')));

  it('omits the comment not given', () => given(opened, closed).when(rateBy(customerId, 3)).then(rated(3)));

  it('is an idempotent success for the same rating and comment again', () => {
    given(opened, closed, rated(4, 'Fine')).when(rateBy(customerId, 4, 'Fine')).then();
    given(opened, closed, rated(4)).when(rateBy(customerId, 4)).then();
  });

  it('refuses a second, different rating', () => {
    given(opened, closed, rated(4, 'Fine')).when(rateBy(customerId, 5, 'Fine')).thenRejects('RATING_NOT_ALLOWED');
    given(opened, closed, rated(4, 'Fine')).when(rateBy(customerId, 4)).thenRejects('RATING_NOT_ALLOWED');
  });

  it('refuses a session not closed yet', () =>
    given(opened, joined()).when(rateBy(customerId, 5)).thenRejects('RATING_NOT_ALLOWED'));

  it('refuses the agent', () => given(opened, joined(), closed).when(rateBy(agentId, 5)).thenRejects('RATING_NOT_ALLOWED'));

  it('refuses an outsider', () => given(opened, closed).when(rateBy(strangerId, 5)).thenRejects('NOT_A_PARTICIPANT'));

  it('refuses a session that does not exist', () =>
    given().when(rateBy(customerId, 5)).thenRejects('NOT_A_PARTICIPANT'));
});

describe('evolve', () => {
  it('starts from no session', () => expect(initialState()).toStrictEqual({ status: 'none' }));

  it('moves waiting → active → waiting → active → closed, tracking the assigned agent', () => {
    const steps = [opened, joined(), left(), joined(otherAgentId), closed];
    const states: ChatSessionState[] = [];
    steps.reduce((state, event) => {
      const next = evolve(state, event);
      states.push(next);
      return next;
    }, initialState());
    expect(states.map((state) => [state.status, 'agentId' in state ? state.agentId : undefined])).toStrictEqual([
      ['waiting', undefined],
      ['active', agentId],
      ['waiting', undefined],
      ['active', otherAgentId],
      ['closed', otherAgentId],
    ]);
  });

  it('keeps messages in order and each side’s last read message', () => {
    const state = [opened, sent(m1), sent(m2), read('agent', m2), read('user', m1)].reduce(evolve, initialState());
    if (state.status === 'none') throw new Error('no session');
    expect(state.messageIds.length).toBe(2);
    expect([m1, m2].map((id) => state.messageIds.indexOf(id))).toStrictEqual([0, 1]);
    expect(state.lastReadIndex).toStrictEqual({ user: 0, agent: 1 });
  });

  it('records the rating of a closed session', () => {
    const state = [opened, closed, rated(2, 'Slow')].reduce(evolve, initialState());
    expect(state).toMatchObject({ status: 'closed', rating: { rating: 2, comment: 'Slow' } });
  });

  it('passes over an event of a type it does not know (a newer release’s), as the projection does', () => {
    const newer = { type: 'ChatSessionTagged', data: { sessionId, tag: 'family' } } as unknown as ChatSessionEvent;
    const state = [opened, newer, joined()].reduce(evolve, initialState());
    expect(state).toStrictEqual([opened, joined()].reduce(evolve, initialState()));
  });
});
